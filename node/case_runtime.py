"""Referrals and grants inside ``medledger node run``: services, routers, follower thread.

Shares the node's chain client (one nonce counter per account: two clients signing for the
same hospital would race for nonces) and blob store. The follower starts from block 0 on a
fresh node (one ``eth_getLogs`` per 1000 blocks, indexed on our chain) and from its cursor
afterwards.
"""

from __future__ import annotations

import logging
import threading

from fastapi import APIRouter

from common.tls import http_client
from keys.exceptions import KeysError
from keys.keystore import Keystore
from keys.tokens import TokenIssuer, TokenVerifier
from node.api.cases import case_routers
from node.cases.chain import Web3CaseChain
from node.cases.follower import Follower
from node.cases.service import CaseServices, OutboxRecords
from node.cases.store import CaseStore
from node.chain import ChainClient
from node.config import LoadedConfig
from node.exceptions import NodeConfigError
from node.service import NodeService

log = logging.getLogger(__name__)

#: Seconds between follower passes (blocks come every ~100 ms; grants are rare).
FOLLOW_INTERVAL_S = 1.0


class CaseRuntime:
    """The case services of a running node and their follower thread."""

    def __init__(self, services: CaseServices, *, interval_s: float = FOLLOW_INTERVAL_S) -> None:
        self.services = services
        self.follower = Follower(services)
        self.routers: list[APIRouter] = case_routers(services, self.follower)
        self._interval = interval_s
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._stop.clear()
        self._thread = threading.Thread(
            target=self.follower.run, args=(self._stop,), kwargs={"interval_s": self._interval},
            name="case-follower", daemon=True,
        )  # fmt: skip
        self._thread.start()

    def stop(self, timeout: float = 30.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None
        self.services.store.close()


def open_case_runtime(config: LoadedConfig, *, node: NodeService, passphrase: str) -> CaseRuntime:
    """Build the case services of ``node`` from its config and keystore.

    Raises :class:`NodeConfigError` when the keystore cannot be opened with ``passphrase``
    or the node has no chain client (it was opened without a signing account).
    """
    sink = node.parts.sink
    client = getattr(sink, "chain", None)
    if not isinstance(client, ChainClient):
        raise NodeConfigError("referrals and grants need the node's signing chain client")
    try:
        keystore = Keystore.open(config.keystore_dir)
        signing = keystore.load_signing_key(passphrase)
        keyring = keystore.load_keyring(passphrase)
    except KeysError as exc:
        raise NodeConfigError(str(exc)) from None
    chain = Web3CaseChain(client)
    services = CaseServices(
        chain=chain,
        store=CaseStore(config.data_dir / "cases.sqlite"),
        blobs=node.parts.store.blobs,
        records=OutboxRecords(config.outbox_path),
        keyring=keyring,
        issuer=TokenIssuer(signing, chain_id=chain.chain_id, grants_contract=chain.grants_address),
        verifier=TokenVerifier(
            chain_id=chain.chain_id, grants_contract=chain.grants_address, grantee=signing.address
        ),
        # deliveries and block fetches to peers: the consortium CA and our client cert
        http=http_client(config.tls_files(), timeout=10.0),
        break_glass_policy=config.settings.break_glass,
    )
    return CaseRuntime(services)
