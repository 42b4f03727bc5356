"""Hostile HTTP input against the gateway: challenge floods, oversized bodies, echoed values."""

from __future__ import annotations

import socket
from urllib.parse import urlsplit

from eth_account import Account
from eth_account.signers.local import LocalAccount
from fastapi import FastAPI
from fastapi.testclient import TestClient

from common.errors import status_code_name
from gateway.app import create_app
from gateway.container import Services
from gateway.domain import PhysicianStatus
from gateway.memory import MemorySessionStore
from tests.gateway.conftest import Clock, make_settings, sign
from tests.gateway.fakes import DictAuditSource, FileCaseStore, TableChainView
from tests.gateway.server import serve

PHI = "Xavier Quimbyfield"


def _gateway(sessions: MemorySessionStore, **settings: object) -> tuple[TableChainView, FastAPI]:
    chain = TableChainView()
    services = Services(chain=chain, cases=FileCaseStore(), sessions=sessions,
                        audit=DictAuditSource(), clock=Clock())  # fmt: skip
    return chain, create_app(services=services, settings=make_settings(**settings))


def _sign_in(client: TestClient, account: LocalAccount, challenge: dict[str, str]) -> int:
    body = {"address": account.address, "nonce": challenge["nonce"],
            "signature": sign(account, challenge["message"])}  # fmt: skip
    return client.post("/auth/session", json=body).status_code


def test_a_challenge_flood_from_one_address_cannot_cancel_a_pending_sign_in() -> None:
    # A refill every 100 minutes: the bucket stays empty however slowly this machine runs.
    chain, app = _gateway(MemorySessionStore(), challenge_burst=5, challenge_rate_per_minute=0.01)
    physician = Account.create()
    chain.physicians[(make_settings().hospital, physician.address)] = PhysicianStatus.ACTIVE
    legit = TestClient(app, client=("10.0.0.2", 5000))
    pending = legit.post("/auth/challenge", json={"address": physician.address}).json()
    flood = TestClient(app, client=("10.0.0.66", 5000))
    addresses = [physician.address] * 20 + [Account.create().address for _ in range(20)]
    codes = [flood.post("/auth/challenge", json={"address": a}).status_code for a in addresses]
    assert codes[:5] == [200] * 5 and set(codes[5:]) == {429}
    refused = flood.post("/audit/auth/challenge", json={"address": physician.address})
    assert refused.status_code == 200  # the auditor route has its own bucket
    limited = flood.post("/auth/challenge", json={"address": physician.address})
    assert limited.json()["error"] == status_code_name(429)
    assert int(limited.headers["retry-after"]) >= 1
    assert _sign_in(legit, physician, pending) == 200


def test_a_full_challenge_store_refuses_new_challenges_and_keeps_pending_ones() -> None:
    # Rate limit out of the way: many addresses (a botnet) reach the store itself.
    chain, app = _gateway(MemorySessionStore(max_challenges=30, max_per_address=4),
                          challenge_burst=1000)  # fmt: skip
    physician = Account.create()
    chain.physicians[(make_settings().hospital, physician.address)] = PhysicianStatus.ACTIVE
    client = TestClient(app)
    pending = client.post("/auth/challenge", json={"address": physician.address}).json()
    same = [client.post("/auth/challenge", json={"address": physician.address})
            for _ in range(6)]  # fmt: skip
    assert [r.status_code for r in same] == [200, 200, 200, 429, 429, 429]
    assert same[-1].json()["error"] == "too_many_challenges"
    others = [client.post("/auth/challenge", json={"address": Account.create().address})
              for _ in range(40)]  # fmt: skip
    assert {r.status_code for r in others[26:]} == {429}
    assert _sign_in(client, physician, pending) == 200


def test_no_error_response_echoes_a_submitted_value() -> None:
    _, app = _gateway(MemorySessionStore())
    client = TestClient(app)
    answers = [
        client.post("/auth/challenge", json={"address": PHI}),
        client.post("/auth/challenge", json={"address": {"name": PHI}}),
        client.post("/auth/challenge", content=b'{"address": "' + PHI.encode() + b'"'),
        client.post("/auth/session", json={"address": PHI, "nonce": PHI, "signature": PHI}),
        client.post("/audit/auth/challenge", json={"address": [PHI]}),
        client.post("/grants/redeem", json={"token": PHI}),
        client.post(
            "/grants/redeem", json={"token": "x", "nonce": PHI, "deadline": PHI, "signature": PHI}
        ),
        client.post("/grants/redemption-request", json={"token": [PHI]}),
    ]
    for answer in answers:
        assert 400 <= answer.status_code < 500, answer.text
        assert "Quimbyfield" not in answer.text, answer.text
        assert {"error", "detail"} <= set(answer.json())
    assert answers[0].status_code == 422
    assert answers[0].json()["errors"][0]["loc"] == ["body", "address"]


def test_a_50_mb_body_to_sign_in_is_refused_before_it_is_read() -> None:
    _, app = _gateway(MemorySessionStore())
    with serve(app) as url:
        host = urlsplit(url)
        with socket.create_connection((host.hostname, host.port), timeout=10) as sock:
            head = b"POST /auth/challenge HTTP/1.1\r\nHost: x\r\nContent-Length: 52428800\r\n\r\n"
            sock.sendall(head + b"[" * 4096)
            reply = b""
            while b"\r\n" not in reply:
                reply += sock.recv(4096)
        assert reply.startswith(b"HTTP/1.1 413")


def test_an_oversized_redemption_body_is_refused_with_413_before_it_is_parsed() -> None:
    _, app = _gateway(MemorySessionStore())
    client = TestClient(app)
    big = b'{"token": "' + b"a" * 128 * 1024 + b'"}'
    for path in ("/grants/redemption-request", "/grants/redeem"):
        answer = client.post(path, content=big, headers={"Content-Type": "application/json"})
        assert answer.status_code == 413, (path, answer.text)
