"""Redeeming access tokens: real EIP-712 tokens from ``keys.tokens``, chain state from the
``TableChainView`` stand-in (the contracts are read through web3.py in another issue)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any
from unittest.mock import ANY

import pytest
from eth_account import Account
from eth_account.messages import encode_typed_data
from eth_account.signers.local import LocalAccount
from pydicom.data import get_testdata_file

from gateway.domain import PhysicianStatus
from gateway.exceptions import GrantExhausted
from gateway.typing import PhysicianAddress
from keys.signing import SECP256K1_N, SigningKey
from keys.tokens import TokenIssuer
from keys.typing import CaseId, GrantId
from tests.gateway.conftest import GRANTS_CONTRACT, T0, Gateway
from tests.gateway.fakes import grant_state

GRANT = GrantId(b"\x07" * 32)
#: Session token -> the physician's key that opened it (who signs that session's redemptions).
_SIGNERS: dict[str, LocalAccount] = {}
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
    session = gateway.sign_in(physician)
    _SIGNERS[session] = physician
    return session


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


def _signed(
    gw: Gateway, session: str, token: str, signer: LocalAccount
) -> tuple[int, dict[str, Any]]:
    """Ask for the Redemption typed data and sign it with ``signer``: the redeem body."""
    auth = {"Authorization": f"Bearer {session}"}
    asked = gw.client.post("/grants/redemption-request", json={"token": token}, headers=auth)
    if asked.status_code != 200:
        return asked.status_code, asked.json()
    request = asked.json()
    signature = signer.sign_message(encode_typed_data(full_message=request["typed_data"]))
    return 200, {"token": token, "nonce": request["nonce"], "deadline": request["deadline"],
                 "signature": "0x" + bytes(signature.signature).hex()}  # fmt: skip


def _post(gw: Gateway, session: str, body: dict[str, Any]) -> tuple[int, dict[str, object]]:
    response = gw.client.post(
        "/grants/redeem", json=body, headers={"Authorization": f"Bearer {session}"}
    )
    return response.status_code, response.json()


def _redeem(
    gw: Gateway, session: str, token: str, signer: LocalAccount | None = None
) -> tuple[int, dict[str, object]]:
    status, body = _signed(gw, session, token, signer or _SIGNERS[session])
    if status != 200:
        return status, body
    return _post(gw, session, body)


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
    [approval] = gateway.chain.approvals
    assert approval.physician == physician.address and len(approval.signature) == 65
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


def test_each_opening_carries_its_own_physician_signature(
    gateway: Gateway, signed_in: str, lower_tier: SigningKey
) -> None:
    token = _token(lower_tier, gateway)
    for _ in range(3):
        status, body = _redeem(gateway, signed_in, token)
        assert status == 200, body
    nonces = {a.nonce for a in gateway.chain.approvals}
    assert len(nonces) == 3  # one fresh nonce per opening, all with the same token


def _tampered(body: dict[str, Any], **change: Any) -> dict[str, Any]:
    return {**body, **change}


@pytest.mark.parametrize(
    ("tamper", "status", "code"),
    [
        # Another key signs: the session's physician did not consent.
        (
            lambda gw, s, t, b: _signed(gw, s, t, Account.create())[1],
            403,
            "redemption_signature_invalid",
        ),
        # The signed nonce swapped after signing: the signature covers another message.
        (
            lambda gw, s, t, b: _tampered(b, nonce="0x" + "11" * 32),
            403,
            "redemption_signature_invalid",
        ),
        (lambda gw, s, t, b: _tampered(b, deadline=int(T0) - 1), 403, "redemption_deadline"),
        (lambda gw, s, t, b: _tampered(b, deadline=int(T0) + 10**6), 403, "redemption_deadline"),
        # High-s twin of the real signature: canonical signatures only.
        (
            lambda gw, s, t, b: _tampered(b, signature=_high_s(b["signature"])),
            403,
            "redemption_signature_invalid",
        ),
        (
            lambda gw, s, t, b: _tampered(b, signature="0x" + "00" * 65),
            403,
            "redemption_signature_invalid",
        ),
        (lambda gw, s, t, b: _tampered(b, signature="0x12"), 422, None),
    ],
)
def test_redemption_without_the_physicians_signature_is_refused_before_the_chain(
    gateway: Gateway,
    signed_in: str,
    lower_tier: SigningKey,
    tamper: Callable[[Gateway, str, str, dict[str, Any]], dict[str, Any]],
    status: int,
    code: str | None,
) -> None:
    token = _token(lower_tier, gateway)
    ok, body = _signed(gateway, signed_in, token, _SIGNERS[signed_in])
    assert ok == 200
    got, answer = _post(gateway, signed_in, tamper(gateway, signed_in, token, body))
    assert got == status, answer
    if code is not None:
        assert answer["error"] == code
    assert gateway.chain.redemptions == []  # nothing sent on chain
    assert _studies(gateway, signed_in) == []


def _high_s(signature: str) -> str:
    raw = bytes.fromhex(signature[2:])
    s = int.from_bytes(raw[32:64], "big")
    twin = SECP256K1_N - s
    v = 27 if raw[64] == 28 else 28
    return "0x" + (raw[:32] + twin.to_bytes(32, "big") + bytes([v])).hex()


def test_redemption_request_needs_a_session_and_a_good_token(
    gateway: Gateway, signed_in: str, lower_tier: SigningKey
) -> None:
    token = _token(lower_tier, gateway)
    assert (
        gateway.client.post("/grants/redemption-request", json={"token": token}).status_code == 401
    )
    status, body = _signed(gateway, signed_in, _token(SigningKey.generate(), gateway),
                           _SIGNERS[signed_in])  # fmt: skip
    assert (status, body["error"]) == (403, "token_forged")
