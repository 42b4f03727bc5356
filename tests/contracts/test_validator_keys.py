"""Consortium: a member's validator key is its own, never an account, rotatable by the member.

The validator key signs blocks, votes and p2p links only. These tests show on chain that
it can never act as the hospital (no member or staff call, no grant, no permission) and that
no account can be registered under it, at genesis, at admission or later.
"""

from __future__ import annotations

import pytest

from contracts.deploy import deploy_contract
from contracts.exceptions import TransactionFailed
from tests.contracts.world import World, licence_hash

ZERO = "0x" + "00" * 20


@pytest.mark.parametrize(
    "taken",
    ["candidate", "village", "doc_county", "auditor", "val_tertiary", "zero"],
)
def test_admission_refuses_a_validator_address_that_is_an_account_or_taken(
    world: World, taken: str
) -> None:
    """The candidate's own account, a member, staff, an auditor, another's key, or zero."""
    c = world.consortium.functions
    address = ZERO if taken == "zero" else world.addr(taken)
    args = (world.addr("candidate"), "n", 1, b"k" * 32, "", True, address)
    (bad,) = world.expect("county", c.proposeAdmission(*args), "InvalidValidatorAddress")
    assert bad.lower() == address.lower()


def test_no_account_can_be_registered_under_a_validator_key(world: World) -> None:
    c = world.consortium.functions
    val = world.addr("val_county")
    world.expect("county", c.registerStaff(val, 1, licence_hash("v")), "AccountInUse")
    world.expect("county", c.proposeAuditor(val, True), "AccountInUse")
    args = (val, "n", 1, b"k" * 32, "", False, world.addr("val_spare2"))
    world.expect("county", c.proposeAdmission(*args), "AccountInUse")


def test_a_validator_key_cannot_act_as_its_hospital(world: World) -> None:
    """Simulated from the validator key: every member call and ``Grants.issue`` reverts."""
    c = world.consortium.functions
    val = "val_county"
    assert not c.isPermitted(world.addr(val)).call()
    assert not c.isActiveMember(world.addr(val)).call()
    for fn in (
        c.registerStaff(world.addr("spare1"), 1, licence_hash("x")),
        c.proposeSuspension(world.addr("village")),
        c.rotateValidatorKey(world.addr("spare2")),
        c.setEndpoint("http://evil"),
    ):
        assert world.error_of(val, fn)[0] == "NotActiveMember"
    issue = world.grants.functions.issue(
        1, world.addr("tertiary"), ZERO, b"\x01" * 32, world.later(), 1
    )
    name, args = world.error_of(val, issue)
    assert name == "NotActiveMember" and str(args[0]).lower() == world.addr(val).lower()


def test_a_member_rotates_its_validator_key_and_a_retired_key_stays_retired(
    fresh_world: World,
) -> None:
    world = fresh_world
    c = world.consortium.functions
    old, new = world.addr("val_county"), world.addr("val_spare1")
    r = world.tx("county", c.rotateValidatorKey(new))
    ev = world.one_event(r, world.consortium, "ValidatorKeyChanged")
    assert (ev["member"], ev["fromValidator"], ev["toValidator"]) == (
        world.addr("county"),
        old,
        new,
    )
    assert c.validators().call() == [new, world.addr("val_tertiary")]
    assert c.getMember(world.addr("county")).call()[7] == new
    # the old key may have leaked: never again a validator key, nor an account
    world.expect("county", c.rotateValidatorKey(old), "InvalidValidatorAddress")
    world.expect("village", c.rotateValidatorKey(old), "InvalidValidatorAddress")
    world.expect("county", c.registerStaff(old, 1, licence_hash("o")), "AccountInUse")
    # nobody claims another member's key (a second vote), nor an account
    world.expect("village", c.rotateValidatorKey(new), "InvalidValidatorAddress")
    world.expect("village", c.rotateValidatorKey(world.addr("village")), "InvalidValidatorAddress")
    world.expect(
        "village", c.rotateValidatorKey(world.addr("doc_county")), "InvalidValidatorAddress"
    )
    world.expect("auditor", c.rotateValidatorKey(world.addr("spare2")), "NotActiveMember")


def test_genesis_refuses_a_founder_validating_with_its_own_or_another_founders_account(
    world: World,
) -> None:
    spare1, spare2 = world.addr("spare1"), world.addr("spare2")
    val1, val2 = world.addr("val_spare1"), world.addr("val_spare2")

    def founder(account: str, validator: str) -> tuple[object, ...]:
        return (account, "h", 1, b"\x01" * 32, "", True, validator)

    cases = [
        [founder(spare1, spare1)],  # its own account
        [founder(spare1, spare2), founder(spare2, val2)],  # a later founder's account
        [founder(spare1, val1), founder(spare2, val1)],  # another founder's key
    ]
    errors = []
    for founders in cases:
        with pytest.raises(TransactionFailed) as failed:
            deploy_contract(world.w3, world.acct["deployer"], "Consortium", founders, [], 60, 60)
        errors.append(failed.value.error)
    assert errors == ["InvalidValidatorAddress", "AccountInUse", "InvalidValidatorAddress"]
