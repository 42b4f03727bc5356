"""A compromised validator host cannot mint access tokens: the gateway refuses its key.

The grantor hospital's keys are the real files ``consortium init`` writes
(``medledger.consortium.hospital.create_keystore``: ``keystore/`` and ``validator/``); the
token is a real EIP-712 token from ``keys.tokens``. The grant's chain state comes from the
gateway tests' ``TableChainView`` stand-in (the on-chain side, ``Grants.issue`` reverting
for a validator key, is ``tests/contracts/test_validator_keys.py``).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from eth_account.messages import encode_typed_data
from eth_account.signers.local import LocalAccount
from pydicom.data import get_testdata_file

from gateway.domain import PhysicianStatus
from keys.keystore import Keystore
from keys.signing import SigningKey
from keys.tokens import TokenIssuer
from keys.typing import CaseId, GrantId
from ledger.cli.keystore import read_keystore
from medledger.consortium.hospital import VALIDATOR_FILE, Kdf, create_keystore
from tests.gateway.conftest import GRANTS_CONTRACT, T0, Gateway
from tests.gateway.fakes import grant_state

GRANT = GrantId(b"\x17" * 32)
CASE = CaseId(b"\x18" * 32)
PASSPHRASE = "validator-key-test-passphrase"


@pytest.fixture(scope="module")
def grantor_keys(tmp_path_factory: pytest.TempPathFactory) -> tuple[SigningKey, SigningKey]:
    """The grantor's member key and validator key, unlocked from their files."""
    home = tmp_path_factory.mktemp("grantor")
    store = create_keystore(home, passphrase=PASSPHRASE, kdf=Kdf(1024, 1000))
    member = Keystore.open(home / "keystore").load_signing_key(PASSPHRASE)
    assert member.address == store.export_public()["signing_address"]
    validator = SigningKey(read_keystore(home / VALIDATOR_FILE, PASSPHRASE))
    assert validator.address != member.address
    return member, validator


def _token(key: SigningKey, gw: Gateway) -> str:
    issuer = TokenIssuer(key, chain_id=4242, grants_contract=GRANTS_CONTRACT)
    return issuer.issue(
        grant_id=GRANT,
        case_id=CASE,
        grantee=gw.settings.hospital,
        scope_root=b"\x09" * 32,
        expiry=int(T0 + 3600),
    )


def test_a_token_signed_with_the_grantors_validator_key_is_refused_as_forged(
    gateway: Gateway, physician: LocalAccount, grantor_keys: tuple[SigningKey, SigningKey]
) -> None:
    member, validator = grantor_keys
    gateway.register(physician, PhysicianStatus.ACTIVE)
    gateway.chain.grants[GRANT] = grant_state(
        GRANT, gateway.settings.hospital, case_id=CASE, grantor=member.address
    )
    path = get_testdata_file("CT_small.dcm")
    assert path is not None
    gateway.cases.add(GRANT, Path(str(path)))
    session = gateway.sign_in(physician)
    headers = {"Authorization": f"Bearer {session}"}

    # the gateway checks the token before it even hands out the Redemption to sign
    forged = gateway.client.post(
        "/grants/redemption-request", json={"token": _token(validator, gateway)}, headers=headers
    )
    assert forged.status_code == 403 and forged.json()["error"] == "token_forged"
    assert gateway.chain.redemptions == []  # nothing recorded, no use spent
    # the same token signed by the hospital's member key is the real thing
    token = _token(member, gateway)
    asked = gateway.client.post(
        "/grants/redemption-request", json={"token": token}, headers=headers
    )
    assert asked.status_code == 200, asked.json()
    request = asked.json()
    signature = physician.sign_message(encode_typed_data(full_message=request["typed_data"]))
    body = {"token": token, "nonce": request["nonce"], "deadline": request["deadline"],
            "signature": "0x" + bytes(signature.signature).hex()}  # fmt: skip
    genuine = gateway.client.post("/grants/redeem", json=body, headers=headers)
    assert genuine.status_code == 200, genuine.json()
    assert len(gateway.chain.redemptions) == 1
