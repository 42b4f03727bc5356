"""The collaborators of the case services, built once per node process."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from keys.envelope import EncryptionKeyring
from keys.tokens import TokenIssuer, TokenVerifier
from keys.typing import RecordId
from node.anchor.entry import RecordState
from node.anchor.outbox import Outbox
from node.blobstore.abc import BlobStoreAPI
from node.cases.abc import CaseChainAPI, RecordSourceAPI
from node.cases.store import CaseStore
from node.cases.views import OwnRecord
from node.typing import CID


@dataclass(frozen=True, slots=True)
class CaseServices:
    """Everything referrals, grants, deliveries and the follower need.

    ``issuer`` signs access tokens with the hospital's signing key (``None`` on a node
    that only receives grants); ``verifier`` checks tokens addressed to this hospital.
    """

    chain: CaseChainAPI
    store: CaseStore
    blobs: BlobStoreAPI
    records: RecordSourceAPI
    keyring: EncryptionKeyring
    issuer: TokenIssuer | None
    verifier: TokenVerifier
    http: httpx.Client = field(default_factory=lambda: httpx.Client(timeout=10.0))
    clock: Callable[[], float] = time.time
    #: What this node does when a physician breaks the glass on one of its cases
    #: (:mod:`node.cases.breakglass`): ``allow``, ``deny`` or ``allow-and-notify``.
    break_glass_policy: str = "allow-and-notify"


class OutboxRecords(RecordSourceAPI):
    """Our records as the outbox holds them (CID, content hash, DEK wrapped to us).

    An :class:`Outbox` is one SQLite connection for one thread, so each calling thread (API
    workers, the follower) gets its own, opened on first use.
    """

    def __init__(self, path: Path) -> None:
        self._path = path
        self._local = threading.local()

    def _outbox(self) -> Outbox:
        outbox: Outbox | None = getattr(self._local, "outbox", None)
        if outbox is None:
            outbox = self._local.outbox = Outbox(self._path)
        return outbox

    def record(self, record_id: RecordId) -> OwnRecord:
        outbox = self._outbox()
        entry = outbox.entry(record_id)  # raises UnknownRecord
        batched = outbox.state(record_id) is not RecordState.PENDING
        return OwnRecord(entry.cid, entry.content_hash, entry.wrapped_key, entry.salt,
                         entry.pseudonym, entry.kind.text,
                         outbox.proof(record_id) if batched else None)  # fmt: skip

    def replace_key(self, record_id: RecordId, *, cid: CID, wrapped_key: bytes) -> None:
        self._outbox().replace_key(record_id, cid=cid, wrapped_key=wrapped_key)

    def shred_key(self, record_id: RecordId) -> None:
        self._outbox().shred_key(record_id)
