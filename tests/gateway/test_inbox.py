"""``GET /inbox`` on the in-process gateway: sign-in required, 503 without a node store.

The listing itself (delivered grants, named-physician filtering) is tested against real
node services in ``tests/integration/test_gateway_node_wiring.py``.
"""

from __future__ import annotations

from eth_account.signers.local import LocalAccount

from gateway.domain import PhysicianStatus
from tests.gateway.conftest import Gateway


def test_the_inbox_needs_a_session_and_answers_503_without_a_node_store(
    gateway: Gateway, physician: LocalAccount
) -> None:
    assert gateway.client.get("/inbox").status_code == 401
    gateway.register(physician, PhysicianStatus.ACTIVE)
    token = gateway.sign_in(physician)
    resp = gateway.client.get("/inbox", headers={"Authorization": f"Bearer {token}"})
    assert resp.status_code == 503 and resp.json()["error"] == "chain_unavailable"
