"""Sign-in by proof of possession: challenge, signature, chain check, bearer session."""

from __future__ import annotations

from eth_account import Account
from eth_account.signers.local import LocalAccount

from gateway.domain import PhysicianStatus
from gateway.services.auth import token_digest
from tests.gateway.conftest import Gateway, sign


def _challenge(gw: Gateway, account: LocalAccount) -> dict[str, str]:
    response = gw.client.post("/auth/challenge", json={"address": account.address})
    assert response.status_code == 200
    body: dict[str, str] = response.json()
    return body


def _session(gw: Gateway, address: str, nonce: str, signature: str) -> tuple[int, dict[str, str]]:
    response = gw.client.post(
        "/auth/session", json={"address": address, "nonce": nonce, "signature": signature}
    )
    return response.status_code, response.json()


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_active_physician_signs_challenge_and_gets_a_working_session(
    gateway: Gateway, physician: LocalAccount
) -> None:
    gateway.register(physician, PhysicianStatus.ACTIVE)
    challenge = _challenge(gateway, physician)
    status, body = _session(
        gateway, physician.address, challenge["nonce"], sign(physician, challenge["message"])
    )
    assert status == 200
    assert body["physician"] == physician.address
    assert body["hospital"] == gateway.settings.hospital
    assert float(body["expires_at"]) == gateway.clock.now + gateway.settings.session_ttl_seconds
    answer = gateway.client.get("/dicomweb/studies", headers=_bearer(body["token"]))
    assert answer.status_code == 200
    assert answer.json() == []  # signed in, but no grant redeemed yet


def test_challenge_text_says_what_it_is_for_and_binds_hospital_chain_and_nonce(
    gateway: Gateway, physician: LocalAccount
) -> None:
    challenge = _challenge(gateway, physician)
    message = challenge["message"]
    assert "sign in as a physician" in message
    assert "sends no transaction" in message
    assert f"Hospital: {gateway.settings.hospital}" in message
    assert "Chain ID: 4242" in message
    assert f"Physician: {physician.address}" in message
    assert f"Nonce: {challenge['nonce'][2:]}" in message
    assert "URI: https://gw.county.example" in message
    assert challenge["nonce"] != _challenge(gateway, physician)["nonce"]


def test_replayed_challenge_is_refused(gateway: Gateway, physician: LocalAccount) -> None:
    gateway.register(physician, PhysicianStatus.ACTIVE)
    challenge = _challenge(gateway, physician)
    signature = sign(physician, challenge["message"])
    assert _session(gateway, physician.address, challenge["nonce"], signature)[0] == 200
    status, body = _session(gateway, physician.address, challenge["nonce"], signature)
    assert (status, body["error"]) == (401, "challenge_used")


def test_expired_challenge_is_refused(gateway: Gateway, physician: LocalAccount) -> None:
    gateway.register(physician, PhysicianStatus.ACTIVE)
    challenge = _challenge(gateway, physician)
    gateway.clock.now += gateway.settings.challenge_ttl_seconds
    status, body = _session(
        gateway, physician.address, challenge["nonce"], sign(physician, challenge["message"])
    )
    assert (status, body["error"]) == (401, "challenge_expired")


def test_unknown_challenge_is_refused(gateway: Gateway, physician: LocalAccount) -> None:
    status, body = _session(gateway, physician.address, "0x" + "00" * 32, "0x" + "11" * 65)
    assert (status, body["error"]) == (401, "challenge_unknown")


def test_signature_by_another_key_is_refused(gateway: Gateway, physician: LocalAccount) -> None:
    gateway.register(physician, PhysicianStatus.ACTIVE)
    challenge = _challenge(gateway, physician)
    intruder = Account.create()
    status, body = _session(
        gateway, physician.address, challenge["nonce"], sign(intruder, challenge["message"])
    )
    assert (status, body["error"]) == (401, "wrong_signer")


def test_challenge_of_one_physician_cannot_sign_in_another(
    gateway: Gateway, physician: LocalAccount
) -> None:
    other = Account.create()
    gateway.register(physician, PhysicianStatus.ACTIVE)
    gateway.register(other, PhysicianStatus.ACTIVE)
    challenge = _challenge(gateway, physician)
    status, body = _session(
        gateway, other.address, challenge["nonce"], sign(other, challenge["message"])
    )
    assert (status, body["error"]) == (401, "wrong_signer")


def test_failed_attempt_consumes_the_challenge(gateway: Gateway, physician: LocalAccount) -> None:
    gateway.register(physician, PhysicianStatus.ACTIVE)
    challenge = _challenge(gateway, physician)
    assert (
        _session(
            gateway,
            physician.address,
            challenge["nonce"],
            sign(Account.create(), challenge["message"]),
        )[0]
        == 401
    )
    status, body = _session(
        gateway, physician.address, challenge["nonce"], sign(physician, challenge["message"])
    )
    assert (status, body["error"]) == (401, "challenge_used")


def test_unrecoverable_signature_is_a_bad_request(
    gateway: Gateway, physician: LocalAccount
) -> None:
    challenge = _challenge(gateway, physician)
    junk = "0x" + "ff" * 64 + "63"  # v = 99, s above the curve order
    status, body = _session(gateway, physician.address, challenge["nonce"], junk)
    assert (status, body["error"]) == (400, "malformed_signature")


def test_suspended_physician_is_refused(gateway: Gateway, physician: LocalAccount) -> None:
    gateway.register(physician, PhysicianStatus.SUSPENDED)
    challenge = _challenge(gateway, physician)
    status, body = _session(
        gateway, physician.address, challenge["nonce"], sign(physician, challenge["message"])
    )
    assert (status, body["error"]) == (403, "physician_suspended")


def test_physician_of_another_hospital_is_refused(
    gateway: Gateway, physician: LocalAccount
) -> None:
    gateway.chain.physicians[("0x2222222222222222222222222222222222222222", physician.address)] = (
        PhysicianStatus.ACTIVE
    )
    challenge = _challenge(gateway, physician)
    status, body = _session(
        gateway, physician.address, challenge["nonce"], sign(physician, challenge["message"])
    )
    assert (status, body["error"]) == (403, "physician_not_registered")


def test_suspension_after_sign_in_ends_the_session_at_once(
    gateway: Gateway, physician: LocalAccount
) -> None:
    gateway.register(physician, PhysicianStatus.ACTIVE)
    token = gateway.sign_in(physician)
    gateway.register(physician, PhysicianStatus.SUSPENDED)
    first = gateway.client.get("/dicomweb/studies", headers=_bearer(token))
    assert (first.status_code, first.json()["error"]) == (403, "physician_suspended")
    gateway.register(physician, PhysicianStatus.ACTIVE)  # reinstated: must sign in again
    second = gateway.client.get("/dicomweb/studies", headers=_bearer(token))
    assert (second.status_code, second.json()["error"]) == (401, "invalid_session")


def test_session_expires(gateway: Gateway, physician: LocalAccount) -> None:
    gateway.register(physician, PhysicianStatus.ACTIVE)
    token = gateway.sign_in(physician)
    gateway.clock.now += gateway.settings.session_ttl_seconds - 1
    assert gateway.client.get("/dicomweb/studies", headers=_bearer(token)).status_code == 200
    gateway.clock.now += 1
    response = gateway.client.get("/dicomweb/studies", headers=_bearer(token))
    assert (response.status_code, response.json()["error"]) == (401, "invalid_session")


def test_sign_out_revokes_the_token(gateway: Gateway, physician: LocalAccount) -> None:
    gateway.register(physician, PhysicianStatus.ACTIVE)
    token = gateway.sign_in(physician)
    assert gateway.client.delete("/auth/session", headers=_bearer(token)).status_code == 204
    response = gateway.client.get("/dicomweb/studies", headers=_bearer(token))
    assert (response.status_code, response.json()["error"]) == (401, "invalid_session")


def test_missing_or_forged_bearer_is_unauthenticated(gateway: Gateway) -> None:
    missing = gateway.client.get("/dicomweb/studies")
    assert (missing.status_code, missing.json()["error"]) == (401, "missing_credentials")
    assert missing.headers["WWW-Authenticate"] == "Bearer"
    forged = gateway.client.get("/dicomweb/studies", headers=_bearer("not-a-token"))
    assert (forged.status_code, forged.json()["error"]) == (401, "invalid_session")


def test_store_keeps_only_a_keyed_digest_of_the_token(
    gateway: Gateway, physician: LocalAccount
) -> None:
    gateway.register(physician, PhysicianStatus.ACTIVE)
    token = gateway.sign_in(physician)
    digest = token_digest(settings=gateway.settings, token=token)
    session = gateway.sessions.get_session(digest, now=gateway.clock.now)
    assert session.physician == physician.address
    assert token.encode() not in repr(gateway.sessions.__dict__).encode()
    assert digest != __import__("hashlib").sha256(token.encode()).digest()  # keyed, not bare


def test_malformed_address_is_rejected_by_validation(gateway: Gateway) -> None:
    bad_checksum = "0x52908400098527886E0F7030069857D2E4169EE7".replace("E", "e", 1)
    for address in ["0x1234", "not an address", bad_checksum]:
        response = gateway.client.post("/auth/challenge", json={"address": address})
        assert response.status_code == 422, address


def test_a_configured_viewer_origin_may_call_with_a_bearer_token() -> None:
    from fastapi.testclient import TestClient

    from gateway.app import create_app
    from gateway.container import Services
    from gateway.memory import MemorySessionStore
    from tests.gateway.conftest import make_settings
    from tests.gateway.fakes import DictAuditSource, FileCaseStore, TableChainView

    services = Services(TableChainView(), FileCaseStore(), MemorySessionStore(), DictAuditSource())
    settings = make_settings(cors_origins=["https://viewer.county.example"])
    client = TestClient(create_app(services=services, settings=settings))
    preflight = client.options(
        "/dicomweb/studies",
        headers={
            "Origin": "https://viewer.county.example",
            "Access-Control-Request-Method": "GET",
            "Access-Control-Request-Headers": "authorization",
        },
    )
    assert preflight.status_code == 200
    assert preflight.headers["access-control-allow-origin"] == "https://viewer.county.example"
    other = client.options(
        "/dicomweb/studies",
        headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "GET"},
    )
    assert "access-control-allow-origin" not in other.headers
