"""Redeeming access tokens: real EIP-712 tokens from ``keys.tokens``, chain state from the
``TableChainView`` stand-in (the contracts are read through web3.py in another issue)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from unittest.mock import ANY

import pytest
from eth_account.signers.local import LocalAccount
from pydicom.data import get_testdata_file

from gateway.domain import PhysicianStatus
from gateway.exceptions import GrantExhausted
from gateway.typing import PhysicianAddress
from keys.signing import SigningKey
from keys.tokens import TokenIssuer
from keys.typing import CaseId, GrantId
from tests.gateway.conftest import GRANTS_CONTRACT, T0, Gateway
from tests.gateway.fakes import grant_state

GRANT = GrantId(b"\x07" * 32)
CASE = CaseId(b"\x08" * 32)


@pytest.fixture
def lower_tier() -> SigningKey:
    return SigningKey.generate()


@pytest.fixture
def signed_in(gateway: Gateway, physician: LocalAccount, lower_tier: SigningKey) -> str:
    gateway.register(physician, PhysicianStatus.ACTIVE)
    gateway.chain.grants[GRANT] = grant_state(
        GRANT, gateway.settings.hospital, case_id=CASE, grantor=lower_tier.address
    )
    path = get_testdata_file("CT_small.dcm")
    assert path is not None
    gateway.cases.add(GRANT, Path(str(path)))
    return gateway.sign_in(physician)


def _token(
    key: SigningKey,
    gw: Gateway,
    *,
    grant: bytes = GRANT,
    case: bytes = CASE,
    chain_id: int = 4242,
    expiry: float = T0 + 3600,
    grantee: str | None = None,
) -> str:
    issuer = TokenIssuer(key, chain_id=chain_id, grants_contract=GRANTS_CONTRACT)
    return issuer.issue(
        grant_id=grant,
        case_id=case,
        grantee=grantee or gw.settings.hospital,
        scope_root=b"\x09" * 32,
        expiry=int(expiry),
    )


def _redeem(gw: Gateway, session: str, token: str) -> tuple[int, dict[str, object]]:
    response = gw.client.post(
        "/grants/redeem", json={"token": token}, headers={"Authorization": f"Bearer {session}"}
    )
    return response.status_code, response.json()


def _studies(gw: Gateway, session: str) -> list[object]:
    response = gw.client.get("/dicomweb/studies", headers={"Authorization": f"Bearer {session}"})
    assert response.status_code == 200
    result: list[object] = response.json()
    return result


def test_redeemed_token_is_recorded_on_chain_then_opens_the_case(
    gateway: Gateway, signed_in: str, lower_tier: SigningKey, physician: LocalAccount
) -> None:
    assert _studies(gateway, signed_in) == []
    status, body = _redeem(gateway, signed_in, _token(lower_tier, gateway))
    assert status == 200, body
    assert body["grant"] == "0x" + GRANT.hex() and body["case"] == "0x" + CASE.hex()
    assert body["block"] == 101
    [redemption] = gateway.chain.redemptions
    assert redemption.physician == PhysicianAddress(physician.address)
    assert len(_studies(gateway, signed_in)) == 1
    assert gateway.chain.grants[GRANT].uses_left == 2


@pytest.mark.parametrize(
    ("change", "status", "code"),
    [
        ({"revoked": True}, 410, "revoked"),
        ({"expiry": T0}, 410, "expired"),
        ({"uses_left": 0}, 410, "exhausted"),
        ({"referral_active": False}, 403, "not_referred"),
        ({"grantee": "0x" + "44" * 20}, 403, "wrong_hospital"),
        ({"physician": "0x" + "55" * 20}, 403, "wrong_physician"),
        ({"case_id": b"\x00" * 32}, 403, "token_mismatch"),
    ],
)
def test_chain_state_refusals_say_why(
    gateway: Gateway,
    signed_in: str,
    lower_tier: SigningKey,
    change: dict[str, object],
    status: int,
    code: str,
) -> None:
    current = gateway.chain.grants[GRANT]
    gateway.chain.grants[GRANT] = grant_state(
        GRANT,
        str(change.pop("grantee", current.grantee)),
        **{"case_id": CASE, "grantor": lower_tier.address, **change},
    )
    got_status, body = _redeem(gateway, signed_in, _token(lower_tier, gateway))
    assert (got_status, body["error"]) == (status, code)
    assert gateway.chain.redemptions == []  # nothing sent on chain
    assert _studies(gateway, signed_in) == []


@pytest.mark.parametrize(
    ("make", "status", "code"),
    [
        (lambda key, gw: _token(SigningKey.generate(), gw), 403, "token_forged"),
        (lambda key, gw: _token(key, gw, chain_id=1), 403, "wrong_chain"),
        (lambda key, gw: _token(key, gw, grantee="0x" + "44" * 20), 403, "wrong_hospital"),
        (lambda key, gw: _token(key, gw, expiry=T0), 410, "expired"),
        (lambda key, gw: _token(key, gw, grant=b"\x0a" * 32), 404, "unknown_grant"),
        (lambda key, gw: "not-a-token", 400, "malformed_token"),
    ],
)
def test_token_refusals_say_why(
    gateway: Gateway,
    signed_in: str,
    lower_tier: SigningKey,
    make: Callable[[SigningKey, Gateway], str],
    status: int,
    code: str,
) -> None:
    assert _redeem(gateway, signed_in, make(lower_tier, gateway)) == (
        status,
        {"error": code, "detail": ANY},
    )
    assert gateway.chain.redemptions == []


def test_contract_revert_at_recording_is_refused_and_serves_nothing(
    gateway: Gateway, signed_in: str, lower_tier: SigningKey
) -> None:
    gateway.chain.revert_with = GrantExhausted("the grant has no uses left")
    status, body = _redeem(gateway, signed_in, _token(lower_tier, gateway))
    assert (status, body["error"]) == (410, "exhausted")
    assert _studies(gateway, signed_in) == []


def test_redeeming_needs_an_active_signed_in_physician(
    gateway: Gateway, signed_in: str, lower_tier: SigningKey, physician: LocalAccount
) -> None:
    token = _token(lower_tier, gateway)
    anonymous = gateway.client.post("/grants/redeem", json={"token": token})
    assert anonymous.status_code == 401
    gateway.register(physician, PhysicianStatus.SUSPENDED)
    status, body = _redeem(gateway, signed_in, token)
    assert (status, body["error"]) == (403, "physician_suspended")
    assert gateway.chain.redemptions == []
