"""Fixtures for the gateway tests: settings, seams, an app, a signed-in physician."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from eth_account import Account
from eth_account.messages import encode_defunct
from eth_account.signers.local import LocalAccount
from fastapi import FastAPI
from fastapi.testclient import TestClient

from gateway.app import create_app
from gateway.container import Services
from gateway.domain import PhysicianStatus
from gateway.memory import MemorySessionStore
from gateway.settings import GatewaySettings
from tests.gateway.fakes import DictAuditSource, FileCaseStore, TableChainView

HOSPITAL = "0x1111111111111111111111111111111111111111"
OTHER_HOSPITAL = "0x2222222222222222222222222222222222222222"
GRANTS_CONTRACT = "0x3333333333333333333333333333333333333333"
T0 = 1_790_000_000.0


class Clock:
    """A settable clock: expiry tests move time instead of sleeping."""

    def __init__(self, now: float = T0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@dataclass
class Gateway:
    settings: GatewaySettings
    chain: TableChainView
    cases: FileCaseStore
    sessions: MemorySessionStore
    audit: DictAuditSource
    clock: Clock
    client: TestClient
    app: FastAPI

    def register(self, account: LocalAccount, status: PhysicianStatus) -> None:
        self.chain.physicians[(self.settings.hospital, account.address)] = status

    def sign_in(self, account: LocalAccount) -> str:
        challenge = self.client.post("/auth/challenge", json={"address": account.address})
        assert challenge.status_code == 200, challenge.text
        body = challenge.json()
        signature = sign(account, body["message"])
        response = self.client.post(
            "/auth/session",
            json={"address": account.address, "nonce": body["nonce"], "signature": signature},
        )
        assert response.status_code == 200, response.text
        token: str = response.json()["token"]
        return token


def sign(account: LocalAccount, message: str) -> str:
    signed = account.sign_message(encode_defunct(text=message))
    return "0x" + bytes(signed.signature).hex()


def make_settings(**overrides: object) -> GatewaySettings:
    values: dict[str, object] = {
        "env": "test",
        "hospital": HOSPITAL,
        "chain_id": 4242,
        "grants_contract": GRANTS_CONTRACT,
        "public_url": "https://gw.county.example",
        "session_secret": "s" * 40,
    }
    values.update(overrides)
    return GatewaySettings(**values)  # type: ignore[arg-type]


@pytest.fixture
def gateway() -> Iterator[Gateway]:
    settings = make_settings()
    chain, cases, sessions = TableChainView(), FileCaseStore(), MemorySessionStore()
    audit, clock = DictAuditSource(), Clock()
    services = Services(chain=chain, cases=cases, sessions=sessions, audit=audit, clock=clock)
    app = create_app(services=services, settings=settings)
    with TestClient(app) as client:
        yield Gateway(settings, chain, cases, sessions, audit, clock, client, app)


@pytest.fixture
def physician() -> LocalAccount:
    account: LocalAccount = Account.create()
    return account
