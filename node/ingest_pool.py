"""Parse and seal bulk imports on worker processes, so the GIL is not the limit.

Per small record the CPU work of ingest is about half validation + RFC 8785 (``fhir.resources``
and pydantic, pure Python) and half sealing (HPKE, AES-GCM, HMAC); the node process also
serves HTTP and runs the drain, so on a 2-core host one interpreter caps the rate. With
``ingest_workers > 0`` a bulk import is validated in chunks on worker processes, then sealed
in chunks on them while the node process commits the chunks already sealed, in order.

What a worker holds: the consortium secret (to pseudonymize) and the hospital's *public*
encryption key (to wrap). Each data key is drawn, used and wrapped inside the worker; only
ciphertexts and wrapped keys come back (a :class:`keys.datakey.DataKey` refuses to be
pickled). Workers are started with ``spawn`` (the node has threads; ``fork`` would copy
their locks) once, when the first import needs them, and live as long as the node.
"""

from __future__ import annotations

import multiprocessing
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ProcessPoolExecutor

from keys.envelope import EncryptionPublicKey
from node.adapters import PublicKeyWrapper, StreamCipher
from node.exceptions import IngestError, InvalidFhir
from node.fhir import FhirPayload, parse_fhir
from node.ingest import IngestReceipt
from node.ingest_bulk import GROUP_SIZE, MAX_BULK_RECORDS
from node.ingest_group import SealedRecord, SealParts, seal
from node.pseudonym import ConsortiumPseudonymizer

_WORKER: SealParts | None = None


def _init_worker(secret: bytes, key_version: int, public_key: bytes) -> None:
    global _WORKER
    wrapper = PublicKeyWrapper(EncryptionPublicKey(key_version, public_key))
    _WORKER = SealParts(ConsortiumPseudonymizer(secret), StreamCipher(), wrapper)


def _parse_chunk(lines: list[tuple[int, bytes]], patient_id: str | None) -> list[FhirPayload]:
    out: list[FhirPayload] = []
    for number, line in lines:
        try:
            out.append(parse_fhir(line, patient_id=patient_id))
        except IngestError as exc:
            raise type(exc)(f"line {number}: {exc}; nothing was imported") from None
    return out


def _seal_chunk(payloads: list[FhirPayload]) -> list[SealedRecord]:
    assert _WORKER is not None, "worker not initialized"
    parts = _WORKER.for_group()
    return [seal(parts=parts, kind=p.kind, canonical=p.canonical, local_patient_id=p.patient_id)
            for p in payloads]  # fmt: skip


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

    def parse_ndjson(self, data: bytes, *, patient_id: str | None = None) -> list[FhirPayload]:
        """:func:`node.ingest_bulk.parse_ndjson` on the workers (same errors, same order)."""
        lines = [(n, line) for n, line in enumerate(data.split(b"\n"), start=1) if line.strip()]
        if not lines:
            raise InvalidFhir("the import holds no record (NDJSON: one FHIR resource per line)")
        if len(lines) > MAX_BULK_RECORDS:
            raise InvalidFhir(f"an import holds at most {MAX_BULK_RECORDS} records")
        pool = self._executor()
        futures = [pool.submit(_parse_chunk, lines[at : at + GROUP_SIZE], patient_id)
                   for at in range(0, len(lines), GROUP_SIZE)]  # fmt: skip
        payloads: list[FhirPayload] = []
        for future in futures:  # in order: the first bad line is the one reported
            payloads.extend(future.result())
        return payloads

    def ingest(
        self,
        *,
        payloads: Sequence[FhirPayload],
        submit: Callable[[Sequence[SealedRecord]], list[IngestReceipt]],
    ) -> list[IngestReceipt]:
        """Seal chunks on the workers; commit each, in order, as soon as it is sealed."""
        pool = self._executor()
        futures: list[Future[list[SealedRecord]]] = [
            pool.submit(_seal_chunk, list(payloads[at : at + GROUP_SIZE]))
            for at in range(0, len(payloads), GROUP_SIZE)
        ]
        receipts: list[IngestReceipt] = []
        try:
            for future in futures:
                receipts.extend(submit(future.result()))
        finally:
            for future in futures:
                future.cancel()
        return receipts

    def close(self) -> None:
        with self._lock:
            if self._pool is not None:
                self._pool.shutdown(wait=True, cancel_futures=True)
                self._pool = None
