"""A real gateway over a ``cases_world`` hospital: batch anchoring, staff, sign-in, redeem.

Everything is the shipped code on the world's real chain process: the village's outbox is
drained into ``Anchors.anchorBatch`` by the node's own drain (:func:`node.anchor.drain.drain_once`
with :class:`~node.chain_anchors.ChainAnchorSink`), the county registers a physician and a
gateway operator in ``Consortium``, and the gateway app runs over
:class:`~gateway.wiring.case_store.NodeCaseStore` and
:class:`~gateway.wiring.chain_view.Web3ChainView` (redemptions sent by the operator).
"""

from __future__ import annotations

import dataclasses
import os
import time
from collections.abc import Callable
from dataclasses import dataclass

from eth_account import Account
from eth_account.messages import encode_typed_data
from eth_account.signers.local import LocalAccount
from eth_utils.crypto import keccak
from fastapi.testclient import TestClient
from httpx import Response

from contracts.client import ChainClient as GatewayChainClient
from contracts.deploy import connect, contract_at
from contracts.typing import Role
from gateway.app import create_app
from gateway.container import Services
from gateway.memory import MemorySessionStore
from gateway.wiring.case_store import NodeCaseStore
from gateway.wiring.chain_view import Web3ChainView
from gateway.wiring.inbox import NodeInbox
from node.anchor.drain import drain_once
from node.anchor.entry import RecordState
from node.cases.package import GrantPackage
from node.cases.sealed import seal_package
from node.chain import ChainClient
from node.chain_anchors import ChainAnchorSink
from node.config import ContractAddresses
from tests import devchain
from tests.devchain import CHAIN_ID
from tests.gateway.conftest import make_settings, sign
from tests.gateway.fakes import DictAuditSource
from tests.integration.cases_world import Hospital, World, fhir_observation


def client_for(world: World, account: LocalAccount | None) -> ChainClient:
    d = world.deployment
    addresses = ContractAddresses(consortium=d.consortium, anchors=d.anchors,
                                  referrals=d.referrals, grants=d.grants)  # fmt: skip
    return ChainClient(rpc_url=world.rpc_url, addresses=addresses, account=account)


def gateway_client_for(world: World, account: LocalAccount | None) -> GatewayChainClient:
    """The gateway's client: the binding's own, raising the binding's errors."""
    return GatewayChainClient(rpc_url=world.rpc_url, addresses=world.deployment, account=account)


def ingest_batched(world: World, n: int) -> list[tuple[bytes, bytes]]:
    """Ingest ``n`` FHIR records at the village and anchor them in Merkle batches."""
    raws = [fhir_observation(20.0 + i + os.urandom(1)[0] / 1000) for i in range(n)]
    return anchored_in_batches(world, raws)


def anchored_in_batches(world: World, raws: list[bytes]) -> list[tuple[bytes, bytes]]:
    """Ingest ``raws`` (FHIR) at the village, anchored in Merkle batches by the node's drain."""
    village = world["village"]
    assert village.node is not None
    receipts = [village.ingest_fhir(raw) for raw in raws]
    outbox = village.node.outbox()
    sink = ChainAnchorSink(
        chain=client_for(world, village.signing.account), blobs=village.svc.blobs
    )
    deadline = time.monotonic() + 60
    while any(outbox.state(r.record_id) is not RecordState.ANCHORED for r in receipts):
        assert time.monotonic() < deadline, "the village's batches were not anchored in 60 s"
        drain_once(outbox=outbox, sink=sink, max_batch_size=64)
        time.sleep(0.05)
    return [(r.record_id, r.content_hash) for r in receipts]


@dataclass
class GatewayUnderTest:
    client: TestClient
    physician: LocalAccount
    store: NodeCaseStore

    def sign_in(self) -> dict[str, str]:
        body = self.client.post("/auth/challenge", json={"address": self.physician.address})
        assert body.status_code == 200, body.text
        signature = sign(self.physician, body.json()["message"])
        session = self.client.post("/auth/session", json={
            "address": self.physician.address, "nonce": body.json()["nonce"],
            "signature": signature})  # fmt: skip
        assert session.status_code == 200, session.text
        return {"Authorization": f"Bearer {session.json()['token']}"}

    def redeem(self, headers: dict[str, str], token: str) -> Response:
        """One opening: ask for the Redemption typed data, sign it with the physician's key,
        send it with the token (the first refusal, if any, is the response)."""
        return redeem_signed(self.client.post, headers, token, self.physician)


def redeem_signed(
    post: Callable[..., Response], headers: dict[str, str], token: str, physician: LocalAccount
) -> Response:
    """``POST /grants/redemption-request`` then ``POST /grants/redeem``, signed by ``physician``."""
    asked = post("/grants/redemption-request", json={"token": token}, headers=headers)
    if asked.status_code != 200:
        return asked
    request = asked.json()
    signed = physician.sign_message(encode_typed_data(full_message=request["typed_data"]))
    body = {"token": token, "nonce": request["nonce"], "deadline": request["deadline"],
            "signature": "0x" + bytes(signed.signature).hex()}  # fmt: skip
    return post("/grants/redeem", json=body, headers=headers)


#: The gateway operator sends redemptions, so the world's genesis must permit it
#: (``consortium(..., extra_senders=(OPERATOR.address,))``); registered once per world.
OPERATOR: LocalAccount = Account.from_key(keccak(text="county-gateway-operator"))


def register_staff(world: World, hospital: Hospital) -> tuple[LocalAccount, LocalAccount]:
    """A fresh physician and the gateway :data:`OPERATOR` of ``hospital``, on chain."""
    physician: LocalAccount = Account.create()
    operator = OPERATOR
    w3 = connect(world.rpc_url)
    consortium = contract_at(w3, "Consortium", world.deployment.consortium)
    staff = [(physician, Role.PHYSICIAN)]
    known = gateway_client_for(world, None).reads.staff(operator.address).hospital
    if int(known, 16) == 0:  # one operator per world: a second gateway_of reuses it
        staff.append((operator, Role.OPERATOR))
    devchain.register_staff(
        w3,
        consortium,
        [(hospital.signing.account, a.address, role, os.urandom(32)) for a, role in staff],
    )
    return physician, operator


def gateway_of(world: World, hospital: Hospital) -> GatewayUnderTest:
    """The hospital's real gateway app (TestClient), with a registered physician."""
    physician, operator = register_staff(world, hospital)
    chain = Web3ChainView(gateway_client_for(world, operator))
    store = NodeCaseStore(hospital.svc, chain=chain)
    services = Services(chain=chain, cases=store, sessions=MemorySessionStore(),
                        audit=DictAuditSource(), inbox=NodeInbox(hospital.svc))  # fmt: skip
    settings = make_settings(hospital=hospital.address, chain_id=CHAIN_ID,
                             grants_contract=world.deployment.grants)  # fmt: skip
    return GatewayUnderTest(TestClient(create_app(services=services, settings=settings)),
                            physician, store)  # fmt: skip


def swap_package(hospital: Hospital, grant_id: int, package: GrantPackage) -> str:
    """Seal ``package`` to the hospital, store it and point the received grant at it.

    What a grantor (or anyone who can write the grantee's blob store) could do; returns the
    previous package CID so the test can put it back.
    """
    recipient = hospital.keyring.public_key()
    cid = hospital.svc.blobs.put([seal_package(package, recipient)])
    row = hospital.svc.store.grant_row(grant_id)
    assert row is not None
    with hospital.svc.store.transaction() as db:
        db.execute("UPDATE grants SET package_cid = ? WHERE grant_id = ?", (cid, grant_id))
    return str(row["package_cid"])


def restore_package(hospital: Hospital, grant_id: int, cid: str) -> None:
    with hospital.svc.store.transaction() as db:
        db.execute("UPDATE grants SET package_cid = ? WHERE grant_id = ?", (cid, grant_id))


def with_records(package: GrantPackage, **changes: object) -> GrantPackage:
    """The package with every record changed as given (``inclusion=...``)."""
    records = tuple(dataclasses.replace(r, **changes) for r in package.records)  # type: ignore[arg-type]
    return dataclasses.replace(package, records=records)
