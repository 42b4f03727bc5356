"""Issue 14's "redemption needs the token" and issue 15's "N uses", against real processes.

The consortium is :func:`tests.fuzz.real_hospital.real_hospital`: the shipped validator,
both hospitals' nodes and the county gateway, started from the process table. The attacker
is the county's gateway operator account (an active operator on chain, as the gateway
runs it) sending transactions straight to the chain; the honest path is the physician at
the county gateway over HTTP.

Before this change ``Grants.redeem(grantId, physician, nonce)`` trusted the sender: the
operator's call below with a made-up nonce emitted ``AccessRedeemed`` and spent a use.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from typing import Any

import pytest
from eth_abi.abi import encode
from eth_account.signers.local import LocalAccount
from eth_utils.crypto import keccak
from web3 import Web3

from contracts.client import ChainClient
from contracts.exceptions import TransactionFailed
from keys.token_wire import SignedToken
from keys.typed_data import redemption_signable
from medledger import demo_flow as flow
from node.config import ContractAddresses
from tests.fuzz.real_hospital import GRANTEE, RealHospital, real_hospital


@pytest.fixture(scope="module")
def hospital(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RealHospital]:
    with real_hospital(tmp_path_factory.mktemp("redeem") / "consortium") as h:
        yield h


def _client(h: RealHospital, account: LocalAccount | None) -> ChainClient:
    c = h.demo.manifest.contracts
    addresses = ContractAddresses(consortium=c["consortium"], anchors=c["anchors"],
                                  referrals=c["referrals"], grants=c["grants"])  # fmt: skip
    return ChainClient(rpc_url=h.demo.manifest.hospitals[0].rpc_url, addresses=addresses,
                       account=account)  # fmt: skip


def _story(h: RealHospital) -> flow.Story:
    story = flow.Story(h.demo)
    story.case_id, story.session = h.case_id, h.physician_session
    return story


def _issue(h: RealHospital, story: flow.Story, max_uses: int) -> tuple[int, str]:
    """A new grant of the story's case to the county, through the village node's API."""
    referral = _client(h, None).reads.grant(h.grant_id).referral_id
    out = story.node("village", "POST", "/grants", json={
        "case_id": h.case_id, "to": h.demo.hospital(GRANTEE).signing_address,
        "expires_at": int(time.time()) + 3600, "max_uses": max_uses, "referral_id": referral,
        "physician": None})  # fmt: skip
    return int(out["grant_id"]), str(out["token"])


def _redeemed(client: ChainClient, grant: int) -> list[Any]:
    grants = client.contract("Grants")
    return list(grants.events.AccessRedeemed.get_logs(
        from_block=0, argument_filters={"grantId": grant}))  # fmt: skip


def _approval(
    h: RealHospital, grant: int, token: SignedToken, key: LocalAccount
) -> tuple[Any, ...]:
    nonce, deadline = os.urandom(32), int(time.time()) + 600
    signable = redemption_signable(
        chain_id=token.chain_id, grants_contract=token.grants_contract, grant_id=grant,
        token_nonce=token.nonce, nonce=nonce, deadline=deadline,
    )  # fmt: skip
    physician = h.demo.physicians[GRANTEE].address
    return (physician, nonce, deadline, bytes(key.sign_message(signable).signature))


def _fields(t: SignedToken) -> tuple[Any, ...]:
    return (t.grant_id, t.case_id, t.grantee, t.scope_root, t.expiry, t.nonce)


def test_an_operator_holding_no_token_cannot_spend_a_use(hospital: RealHospital) -> None:
    h = hospital
    operator = h.demo.operators[GRANTEE]
    attacker = _client(h, operator)
    grant = h.grant_id
    before = attacker.reads.grant(grant).uses
    events_before = len(_redeemed(attacker, grant))
    physician = h.demo.physicians[GRANTEE].address

    # 1. The old call: redeem(grantId, physician, nonce) on the sender's word. Gone.
    old = keccak(text="redeem(uint256,address,bytes32)")[:4] + encode(
        ["uint256", "address", "bytes32"], [grant, physician, os.urandom(32)]
    )
    w3 = attacker.w3
    tx = {"from": operator.address, "to": Web3.to_checksum_address(attacker.addresses.grants),
          "data": old, "gas": 300_000, "gasPrice": 0, "chainId": attacker.chain_id,
          "nonce": w3.eth.get_transaction_count(operator.address, "pending")}  # fmt: skip
    receipt = w3.eth.wait_for_transaction_receipt(
        w3.eth.send_raw_transaction(operator.sign_transaction(tx).raw_transaction), timeout=60
    )
    assert receipt["status"] == 0

    # 2. A token the operator mints itself (right fields, its own key), its own "consent".
    grants = attacker.contract("Grants").functions
    g = attacker.reads.grant(grant)
    fake = (grant.to_bytes(32, "big"), g.case_id, g.grantee, g.scope_root, g.expires_at,
            os.urandom(32))  # fmt: skip
    forged_sig = bytes(operator.sign_message(
        redemption_signable(chain_id=attacker.chain_id, grants_contract=attacker.addresses.grants,
                            grant_id=grant, token_nonce=fake[5], nonce=os.urandom(32),
                            deadline=int(time.time()) + 60)).signature)  # fmt: skip
    approval = (physician, os.urandom(32), int(time.time()) + 600, forged_sig)
    with pytest.raises(TransactionFailed) as refused:
        attacker.send(grants.redeem(grant, fake, forged_sig, approval))
    assert refused.value.error == "TokenNotSignedByGrantor"

    assert attacker.reads.grant(grant).uses == before
    assert len(_redeemed(attacker, grant)) == events_before  # no forged AccessRedeemed

    # 3. Even the real token (say, copied from a log) without the physician's signature.
    other, wire = _issue(h, _story(h), max_uses=2)
    token = SignedToken.decode(wire)
    operator_signed = _approval(h, other, token, operator)
    with pytest.raises(TransactionFailed) as refused:
        attacker.send(grants.redeem(other, _fields(token), token.signature, operator_signed))
    assert refused.value.error == "PhysicianSignatureInvalid"
    # Mined anyway (fixed gas, no estimate): the chain itself refuses, status 0.
    tx_hash = attacker.send(
        grants.redeem(other, _fields(token), token.signature, operator_signed), gas=300_000
    )
    assert w3.eth.wait_for_transaction_receipt(tx_hash, timeout=60)["status"] == 0
    assert attacker.reads.grant(other).uses == 0 and _redeemed(attacker, other) == []


def test_a_three_use_grant_opens_three_times_at_the_gateway_and_the_fourth_is_refused(
    hospital: RealHospital,
) -> None:
    h = hospital
    story = _story(h)
    grant, token = _issue(h, story, max_uses=3)
    for use in (1, 2, 3):
        resp = flow.open_grant(story, token)
        assert resp.status_code == 200, resp.text
        assert int(resp.json()["block"]) > 0, use
    fourth = flow.open_grant(story, token)
    assert (fourth.status_code, fourth.json()["error"]) == (410, "exhausted")
    client = _client(h, None)
    events = _redeemed(client, grant)
    assert [int(e["args"]["use"]) for e in events] == [1, 2, 3]
    assert len({bytes(e["args"]["nonce"]) for e in events}) == 3  # three physician signatures
    assert {e["args"]["physician"] for e in events} == {h.demo.physicians[GRANTEE].address}
    # And on chain, past the gateway: a fourth valid, physician-signed opening is exhausted.
    operator = h.demo.operators[GRANTEE]
    attacker = _client(h, operator)
    decoded = SignedToken.decode(token)
    approval = _approval(h, grant, decoded, h.demo.physicians[GRANTEE])
    with pytest.raises(TransactionFailed) as refused:
        attacker.send(attacker.contract("Grants").functions.redeem(
            grant, _fields(decoded), decoded.signature, approval))  # fmt: skip
    assert refused.value.error == "GrantExhausted"
