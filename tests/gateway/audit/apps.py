"""A gateway app over a chain-backed audit trail, and the sign-in dance as a client does it."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import httpx
from eth_account.signers.local import LocalAccount
from fastapi.testclient import TestClient

from gateway.abc import AuditSourceAPI, AuditTrailAPI
from gateway.app import create_app
from gateway.container import Services
from gateway.memory import MemorySessionStore
from tests.gateway.conftest import make_settings, sign
from tests.gateway.fakes import FileCaseStore, TableChainView


@contextmanager
def audit_client(
    trail: AuditSourceAPI, hospital: str, chain_view: TableChainView | None = None
) -> Iterator[TestClient]:
    """The physician-side seams are in-process fakes: the audit routes never consult them."""
    assert isinstance(trail, AuditTrailAPI)
    services = Services(
        chain=chain_view or TableChainView(), cases=FileCaseStore(),
        sessions=MemorySessionStore(), audit=trail, trail=trail,
    )  # fmt: skip
    with TestClient(create_app(services=services, settings=make_settings(hospital=hospital))) as c:
        yield c


def sign_in(
    client: TestClient, account: LocalAccount, prefix: str = "/audit/auth"
) -> httpx.Response:
    body = client.post(f"{prefix}/challenge", json={"address": account.address}).json()
    signature = sign(account, body["message"])
    return client.post(
        f"{prefix}/session",
        json={"address": account.address, "nonce": body["nonce"], "signature": signature},
    )
