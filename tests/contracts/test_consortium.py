"""Consortium: genesis, membership votes, staff registry, permissions, auditors."""

from __future__ import annotations

import pytest

from contracts.deploy import FoundingMember, contract_at, deploy_contract
from contracts.exceptions import TransactionFailed
from contracts.genesis import consortium_creation_code
from contracts.tx import wait
from contracts.typing import MemberStatus, Role, StaffStatus, Tier
from tests.contracts.backends import Chain
from tests.contracts.world import HOSPITALS, World, build_world, licence_hash

ZERO = "0x" + "00" * 20


def test_genesis_installs_founders_validators_and_auditor(world: World) -> None:
    c = world.consortium.functions
    for h, tier in HOSPITALS.items():
        m = c.getMember(world.addr(h)).call()
        assert m[1] == tier and m[2] == MemberStatus.ACTIVE and m[4] == 1
        assert m[3] and m[5].endswith(h)
    # validators() lists the validator keys, not the member accounts
    assert c.validators().call() == [world.addr("val_county"), world.addr("val_tertiary")]
    for h in HOSPITALS:
        assert c.getMember(world.addr(h)).call()[7] == world.addr(f"val_{h}")
        assert c.validatorOwner(world.addr(f"val_{h}")).call() == world.addr(h)
    assert c.members().call() == [world.addr(h) for h in HOSPITALS]
    assert c.activeMemberCount().call() == 5
    assert c.isAuditor(world.addr("auditor")).call()
    assert c.auditors().call() == [world.addr("auditor")]


def test_only_active_members_and_their_active_staff_are_permitted(fresh_world: World) -> None:
    world = fresh_world
    c = world.consortium.functions
    for who in ("village", "tertiary", "doc_county", "op_county"):
        assert c.isPermitted(world.addr(who)).call(), who
    for who in ("auditor", "outsider", "deployer"):
        assert not c.isPermitted(world.addr(who)).call(), who
    world.suspend("county")
    assert not c.isPermitted(world.addr("county")).call()
    assert not c.isPermitted(world.addr("doc_county")).call()
    assert not c.isPermitted(world.addr("op_county")).call()
    assert c.validators().call() == [world.addr("val_tertiary")]


def test_staff_registry_views_and_no_names_on_chain(world: World) -> None:
    c = world.consortium.functions
    s = c.getStaff(world.addr("doc_county")).call()
    assert s[0] == world.addr("county") and s[1] == Role.PHYSICIAN and s[2] == StaffStatus.ACTIVE
    assert len(s[3]) == 32
    assert c.isActivePhysician(world.addr("county"), world.addr("doc_county")).call()
    assert not c.isActivePhysician(world.addr("county2"), world.addr("doc_county")).call()
    assert c.isActiveOperator(world.addr("county"), world.addr("op_county")).call()
    assert not c.isActiveOperator(world.addr("county"), world.addr("doc_county")).call()


def test_admission_needs_the_threshold_and_emits_an_auditable_trail(fresh_world: World) -> None:
    world = fresh_world
    c = world.consortium.functions
    cand = world.addr("candidate")
    r = world.tx(
        "village",
        c.proposeAdmission(
            cand,
            "new clinic",
            int(Tier.VILLAGE_CLINIC),
            b"k" * 32,
            "http://x",
            False,
            world.addr("val_candidate"),
        ),
    )
    created = world.one_event(r, world.consortium, "ProposalCreated")
    pid = created["proposalId"]
    assert created["required"] == 3 and created["proposer"] == world.addr("village")
    world.tx("township", c.vote(pid))
    assert c.statusOf(cand).call() == MemberStatus.NONE
    world.expect("township", c.vote(pid), "AlreadyVoted")
    r = world.tx("county", c.vote(pid))
    admitted = world.one_event(r, world.consortium, "MemberAdmitted")
    assert admitted["member"] == cand and admitted["proposalId"] == pid
    keyed = world.one_event(r, world.consortium, "ValidatorKeyChanged")
    assert keyed["member"] == cand and keyed["toValidator"] == world.addr("val_candidate")
    assert c.statusOf(cand).call() == MemberStatus.ACTIVE
    assert c.activeMemberCount().call() == 6
    world.expect("tertiary", c.vote(pid), "ProposalAlreadyExecuted")


def test_tier_change_suspension_reinstatement_removal_by_vote(fresh_world: World) -> None:
    world = fresh_world
    c = world.consortium.functions
    v = world.addr("village")
    world.vote_through(
        "county", c.proposeTierChange(v, int(Tier.TOWNSHIP_HEALTH_CENTRE)), ("county2", "tertiary")
    )
    assert c.tierOf(v).call() == Tier.TOWNSHIP_HEALTH_CENTRE
    world.suspend("village")
    assert c.statusOf(v).call() == MemberStatus.SUSPENDED
    # Now 4 active: 60% of 4 rounds up to 3.
    world.vote_through("county", c.proposeReinstatement(v), ("county2", "tertiary"))
    assert c.statusOf(v).call() == MemberStatus.ACTIVE
    world.vote_through("county", c.proposeValidatorFlag(v, True), ("county2", "tertiary"))
    assert world.addr("val_village") in c.validators().call()
    world.vote_through("county", c.proposeRemoval(v), ("county2", "tertiary"))
    assert c.statusOf(v).call() == MemberStatus.REMOVED
    assert world.addr("val_village") not in c.validators().call()
    world.expect("village", c.proposeSuspension(world.addr("county")), "NotActiveMember")


def test_auditor_added_by_vote_reads_but_writes_nothing(fresh_world: World) -> None:
    world = fresh_world
    c = world.consortium.functions
    world.vote_through(
        "county", c.proposeAuditor(world.addr("spare1"), True), ("county2", "tertiary")
    )
    assert c.isAuditor(world.addr("spare1")).call()
    a = "auditor"
    world.expect(a, c.registerStaff(world.addr("spare2"), 1, licence_hash("x")), "NotActiveMember")
    world.expect(a, c.proposeSuspension(world.addr("village")), "NotActiveMember")
    world.expect(a, c.rotateEncryptionKey(b"k"), "NotActiveMember")
    world.expect(a, world.anchors.functions.anchorBatch(b"\x01" * 32, 1, "cid"), "NotActiveMember")
    world.expect(
        a,
        world.referrals.functions.initiate(b"\x01" * 32, world.addr("county"), 1, world.later()),
        "NotActiveMember",
    )
    world.expect(
        a,
        world.grants.functions.issue(1, world.addr("county"), ZERO, b"\x01" * 32, world.later(), 1),
        "NotActiveMember",
    )
    world.vote_through(
        "county", c.proposeAuditor(world.addr("spare1"), False), ("county2", "tertiary")
    )
    assert not c.isAuditor(world.addr("spare1")).call()


def test_member_rotates_its_encryption_key_and_moves_its_endpoint(fresh_world: World) -> None:
    world = fresh_world
    c = world.consortium.functions
    r = world.tx("county", c.rotateEncryptionKey(b"\x02" * 32))
    ev = world.one_event(r, world.consortium, "EncryptionKeyRotated")
    assert ev["version"] == 2 and ev["encryptionKey"] == b"\x02" * 32
    world.tx("county", c.setEndpoint("https://county.example:8545"))
    m = c.getMember(world.addr("county")).call()
    assert m[3] == b"\x02" * 32 and m[4] == 2 and m[5] == "https://county.example:8545"
    world.expect("county", c.rotateEncryptionKey(b""), "EmptyEncryptionKey")


def test_hospital_suspends_and_reinstates_only_its_own_staff(fresh_world: World) -> None:
    world = fresh_world
    c = world.consortium.functions
    doc = world.addr("doc_county")
    world.expect("tertiary", c.suspendStaff(doc), "NotYourStaff")
    r = world.tx("county", c.suspendStaff(doc))
    assert world.one_event(r, world.consortium, "StaffSuspended")["account"] == doc
    assert not c.isPermitted(doc).call()
    world.expect("county", c.suspendStaff(doc), "UnexpectedStaffStatus")
    world.expect("tertiary", c.reinstateStaff(doc), "NotYourStaff")
    world.tx("county", c.reinstateStaff(doc))
    assert c.isPermitted(doc).call()
    world.expect("county", c.reinstateStaff(doc), "UnexpectedStaffStatus")


@pytest.mark.parametrize(
    ("who", "role", "lic", "error"),
    [
        ("doc_tertiary", 1, True, "AccountInUse"),  # already staff elsewhere
        ("village", 1, True, "AccountInUse"),  # a member
        ("auditor", 2, True, "AccountInUse"),  # an auditor
        ("zero", 1, True, "ZeroAddress"),
        ("spare1", 0, True, "InvalidRole"),
        ("spare1", 1, False, "ZeroLicenceHash"),
    ],
)
def test_staff_registration_rules(world: World, who: str, role: int, lic: bool, error: str) -> None:
    account = ZERO if who == "zero" else world.addr(who)
    lh = licence_hash(who) if lic else b"\x00" * 32
    world.expect("county", world.consortium.functions.registerStaff(account, role, lh), error)


def test_proposal_rules_on_their_failure_paths(world: World) -> None:
    c = world.consortium.functions
    v, t = world.addr("village"), world.addr("tertiary")
    key = b"k" * 32
    world.expect("outsider", c.proposeSuspension(v), "NotActiveMember")
    val = world.addr("val_spare1")
    world.expect("county", c.proposeAdmission(v, "n", 1, key, "", False, val), "AccountInUse")
    world.expect("county", c.proposeAdmission(ZERO, "n", 1, key, "", False, val), "ZeroAddress")
    world.expect(
        "county",
        c.proposeAdmission(world.addr("spare1"), "n", 0, key, "", False, val),
        "InvalidTier",
    )
    world.expect(
        "county",
        c.proposeAdmission(world.addr("spare1"), "n", 1, b"", "", False, val),
        "EmptyEncryptionKey",
    )
    world.expect("county", c.proposeTierChange(v, int(Tier.VILLAGE_CLINIC)), "TierUnchanged")
    world.expect("county", c.proposeTierChange(v, 0), "InvalidTier")
    world.expect("county", c.proposeTierChange(world.addr("outsider"), 2), "UnexpectedMemberStatus")
    world.expect("county", c.proposeReinstatement(v), "UnexpectedMemberStatus")
    world.expect("county", c.proposeRemoval(world.addr("outsider")), "UnexpectedMemberStatus")
    world.expect("county", c.proposeValidatorFlag(t, True), "ValidatorFlagUnchanged")
    world.expect("county", c.proposeAuditor(world.addr("outsider"), False), "NotAnAuditor")
    world.expect("county", c.proposeAuditor(world.addr("auditor"), True), "AccountInUse")
    world.expect("county", c.vote(c.proposalCount().call() + 1), "UnknownProposal")


def test_a_proposal_lapses_after_the_voting_period(chain: Chain) -> None:
    """A world of its own with a voting period our chain can wait out in real time."""
    period = chain.short_window_s
    world = build_world(chain, voting_period_s=period)
    c = world.consortium.functions
    r = world.tx("county", c.proposeSuspension(world.addr("village")))
    pid = world.one_event(r, world.consortium, "ProposalCreated")["proposalId"]
    world.chain.advance_time(period + 2)
    world.expect("tertiary", c.vote(pid), "ProposalExpired")
    assert c.statusOf(world.addr("village")).call() == MemberStatus.ACTIVE


def test_execution_rechecks_the_subject(fresh_world: World) -> None:
    """Two suspension proposals for one member: the second cannot execute twice."""
    world = fresh_world
    c = world.consortium.functions
    v = world.addr("village")
    r = world.tx("county", c.proposeSuspension(v))
    stale = world.one_event(r, world.consortium, "ProposalCreated")["proposalId"]
    world.tx("county2", c.vote(stale))
    world.suspend("village")
    world.expect("tertiary", c.vote(stale), "UnexpectedMemberStatus")


def test_a_suspended_member_cannot_vote_or_manage_staff(fresh_world: World) -> None:
    world = fresh_world
    c = world.consortium.functions
    world.suspend("county")
    world.expect("county", c.proposeSuspension(world.addr("village")), "NotActiveMember")
    world.expect(
        "county", c.registerStaff(world.addr("spare1"), 1, licence_hash("s")), "NotActiveMember"
    )
    world.expect("county", c.suspendStaff(world.addr("doc_county")), "NotActiveMember")


@pytest.mark.parametrize(
    ("threshold", "no_founders", "error"),
    [(0, False, "InvalidThreshold"), (101, False, "InvalidThreshold"), (60, True, "NoFounders")],
)
def test_genesis_parameters_are_validated(
    world: World, threshold: int, no_founders: bool, error: str
) -> None:
    founder = (world.addr("spare1"), "h", 1, b"\x01" * 32, "", True, world.addr("val_spare1"))
    founders = [] if no_founders else [founder]
    with pytest.raises(TransactionFailed) as failed:
        deploy_contract(world.w3, world.acct["deployer"], "Consortium", founders, [], threshold, 60)
    assert failed.value.error == error


def test_genesis_refuses_one_account_in_two_roles(world: World) -> None:
    founder = (world.addr("spare1"), "h", 1, b"\x01" * 32, "", True, world.addr("val_spare1"))
    with pytest.raises(TransactionFailed) as failed:
        deploy_contract(
            world.w3,
            world.acct["deployer"],
            "Consortium",
            [founder],
            [world.addr("spare1")],
            60,
            60,
        )
    assert failed.value.error == "AccountInUse"


def test_genesis_creation_code_installs_the_founders(world: World) -> None:
    """The creation code a genesis builder runs yields the same founders as deploy_suite."""
    founders = [
        FoundingMember(
            account=world.acct["spare1"].address,
            name="clinic",
            tier=Tier.VILLAGE_CLINIC,
            encryption_key=b"\x05" * 32,
            validator_address=world.addr("val_spare1"),
            endpoint="http://127.0.0.1:1",
        )
    ]
    deployer = world.acct["deployer"]
    tx = {
        "data": consortium_creation_code(founders),
        "gas": 5_000_000,
        "gasPrice": world.w3.eth.gas_price,
        "nonce": world.w3.eth.get_transaction_count(deployer.address, "pending"),
        "chainId": world.w3.eth.chain_id,
    }
    signed = deployer.sign_transaction(tx)
    receipt = wait(world.w3, world.w3.eth.send_raw_transaction(signed.raw_transaction))
    c = contract_at(world.w3, "Consortium", receipt["contractAddress"]).functions
    assert c.members().call() == [world.addr("spare1")]
    member = tuple(c.getMember(world.addr("spare1")).call())
    assert member[:5] == ("clinic", Tier.VILLAGE_CLINIC, MemberStatus.ACTIVE, b"\x05" * 32, 1)
    assert c.validators().call() == [world.addr("val_spare1")]
    assert c.isPermitted(world.addr("spare1")).call()
    assert not c.isPermitted(world.addr("val_spare1")).call()
