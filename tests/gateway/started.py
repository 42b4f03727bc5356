"""One gateway per test module, served on loopback, with a physician who redeemed ``G1``.

The function-scoped ``gateway`` fixture of ``conftest.py`` suits unit tests; modules that
start a third-party server (Orthanc) share one gateway for all their tests instead, so the
suite pays for one start.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from eth_account import Account
from fastapi.testclient import TestClient

from gateway.app import create_app
from gateway.container import Services
from gateway.disclosure.anchor import Anchorer
from gateway.domain import PhysicianStatus
from gateway.memory import MemorySessionStore
from gateway.services.auth import token_digest
from gateway.settings import GatewaySettings
from tests.gateway.conftest import Clock, Gateway, make_settings
from tests.gateway.fakes import DictAuditSource, FileCaseStore, TableChainView, grant_state
from tests.gateway.redeemed import G1
from tests.gateway.server import serve


@dataclass
class Served:
    gw: Gateway
    base: str  # http://127.0.0.1:PORT
    token: str

    @property
    def dicomweb(self) -> str:
        return self.base + "/dicomweb"

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


@contextmanager
def served_gateway(paths: list[Path], settings: GatewaySettings | None = None,
                   cases: FileCaseStore | None = None, disclosures: Anchorer | None = None,
                   ) -> Iterator[Served]:  # fmt: skip
    """A gateway whose case store holds ``paths`` under ``G1``, redeemed by a signed-in
    physician; yields it served on a free loopback port."""
    settings = settings or make_settings()
    cases = cases or FileCaseStore()
    chain, sessions = TableChainView(), MemorySessionStore()
    audit, clock = DictAuditSource(), Clock()
    services = Services(chain=chain, cases=cases, sessions=sessions, audit=audit, clock=clock,
                        disclosures=disclosures)  # fmt: skip
    app = create_app(services=services, settings=settings)
    with TestClient(app) as client:
        gw = Gateway(settings, chain, cases, sessions, audit, clock, client, app)
        for path in paths:
            cases.add(G1, path)
        chain.grants[G1] = grant_state(G1, settings.hospital)
        physician = Account.create()
        gw.register(physician, PhysicianStatus.ACTIVE)
        token = gw.sign_in(physician)
        sessions.add_grant(token_digest(settings=settings, token=token), G1)
        with serve(app) as base:
            yield Served(gw, base, token)
