"""Validate and seal bulk imports on worker processes, so the GIL is not the limit.

The node process serves HTTP, commits groups (blob store, outbox) and runs the drain; with
``ingest_workers > 0`` a bulk import is cut into chunks of :data:`GROUP_SIZE` lines and each
chunk is validated *and* sealed in one trip to a worker (one group KEK per chunk). Only when
every chunk came back valid does the node process commit them, in order: a bad line still
refuses the whole import and nothing is stored. (The first version validated on the workers,
shipped the payloads back, shipped them out again to seal and started its workers inside
the first import: measured slower than sealing in-process. Now each record crosses the
process boundary twice, as its NDJSON line and as a plain tuple, and the workers are started
and warmed when the node starts.)

What a worker holds: the consortium secret (to pseudonymize) and the hospital's *public*
encryption key (to wrap). Each data key is drawn, used and wrapped inside the worker; only
ciphertexts and wrapped keys come back (a :class:`keys.datakey.DataKey` refuses to be
pickled). Workers are started with ``spawn`` (the node has threads; ``fork`` would copy
their locks) and live as long as the node.
"""

from __future__ import annotations

import multiprocessing
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor

from contracts.typing import RecordKind
from keys.envelope import EncryptionPublicKey
from keys.typing import RecordId
from node.exceptions import IngestError, InvalidFhir
from node.formats.fhir import FhirPayload, parse_fhir
from node.ingest.adapters import PublicKeyWrapper, StreamCipher
from node.ingest.bulk import GROUP_SIZE, MAX_BULK_RECORDS
from node.ingest.core import IngestReceipt, SealedRecord, SealParts, seal
from node.pseudonym import ConsortiumPseudonymizer
from node.typing import ContentHash, PatientPseudonym

_WORKER: SealParts | None = None
WARM_UP_RECORD = (
    b'{"resourceType": "Observation", "status": "final", "code": {"text": "warm-up"},'
    b' "subject": {"reference": "Patient/warm-up"}}'
)


def _init_worker(secret: bytes, key_version: int, public_key: bytes) -> None:
    global _WORKER
    wrapper = PublicKeyWrapper(EncryptionPublicKey(key_version, public_key))
    _WORKER = SealParts(ConsortiumPseudonymizer(secret), StreamCipher(), wrapper)


_Sealed = tuple[bytes, str, bytes, bytes, bytes, bytes, bytes]


def _warm() -> None:
    """Import and build the FHIR models once, before the first import needs them."""
    parse_fhir(WARM_UP_RECORD)


def _seal_lines(lines: list[tuple[int, bytes]], patient_id: str | None) -> list[_Sealed]:
    """Validate every line of a chunk, then seal them all (one group KEK for the chunk)."""
    assert _WORKER is not None, "worker not initialized"
    payloads: list[FhirPayload] = []
    for number, line in lines:
        try:
            payloads.append(parse_fhir(line, patient_id=patient_id))
        except IngestError as exc:
            raise type(exc)(f"line {number}: {exc}; nothing was imported") from None
    parts = _WORKER.for_group()
    out: list[_Sealed] = []
    for p in payloads:
        r = seal(parts=parts, kind=p.kind, canonical=p.canonical, local_patient_id=p.patient_id)
        out.append((r.record_id, r.kind.text, r.pseudonym, r.content_hash, r.salt,
                    r.wrapped_key, r.ciphertext))  # fmt: skip
    return out


_KINDS = {kind.text: kind for kind in RecordKind}  # a dict lookup, not an Enum call per record


def _unpack(t: _Sealed) -> SealedRecord:
    return SealedRecord(RecordId(t[0]), _KINDS[t[1]], PatientPseudonym(t[2]),
                        ContentHash(t[3]), t[4], t[5], t[6])  # fmt: skip


class SealPool:
    """Worker processes that validate and seal bulk imports for one node."""

    def __init__(self, *, workers: int, secret: bytes, public_key: EncryptionPublicKey) -> None:
        if workers < 1:
            raise ValueError("a seal pool has at least one worker")
        self._workers = workers
        self._init_args = (secret, int(public_key.version), public_key.public_bytes())
        self._pool: ProcessPoolExecutor | None = None
        self._lock = threading.Lock()

    def _executor(self) -> ProcessPoolExecutor:
        with self._lock:
            if self._pool is None:
                self._pool = ProcessPoolExecutor(
                    max_workers=self._workers,
                    mp_context=multiprocessing.get_context("spawn"),
                    initializer=_init_worker,
                    initargs=self._init_args,
                )
            return self._pool

    def warm(self) -> None:
        """Start every worker now and let it load the FHIR models (called at node start)."""
        pool = self._executor()
        for future in [pool.submit(_warm) for _ in range(self._workers)]:
            future.result()

    def ingest_ndjson(
        self,
        data: bytes,
        *,
        submit: Callable[[Sequence[SealedRecord]], list[IngestReceipt]],
        patient_id: str | None = None,
    ) -> list[IngestReceipt]:
        """:func:`node.ingest.bulk.parse_ndjson` + sealing on the workers, then commit.

        Same errors and order as the in-process path: the first bad line is the one
        reported and, then, nothing is committed.
        """
        lines = [(n, line) for n, line in enumerate(data.split(b"\n"), start=1) if line.strip()]
        if not lines:
            raise InvalidFhir("the import holds no record (NDJSON: one FHIR resource per line)")
        if len(lines) > MAX_BULK_RECORDS:
            raise InvalidFhir(f"an import holds at most {MAX_BULK_RECORDS} records")
        pool = self._executor()
        futures = [pool.submit(_seal_lines, lines[at : at + GROUP_SIZE], patient_id)
                   for at in range(0, len(lines), GROUP_SIZE)]  # fmt: skip
        chunks: list[list[SealedRecord]] = []
        try:
            for future in futures:  # in order: the first bad line is the one reported
                chunks.append([_unpack(t) for t in future.result()])
        finally:
            for future in futures:
                future.cancel()
        receipts: list[IngestReceipt] = []
        for chunk in chunks:
            receipts.extend(submit(chunk))
        return receipts

    def close(self) -> None:
        with self._lock:
            if self._pool is not None:
                self._pool.shutdown(wait=True, cancel_futures=True)
                self._pool = None
