"""The ingest core: canonical bytes in, an anchor entry in the durable outbox out.

Every way in (HTTP, the CLI, bulk imports, DICOM studies) runs the same steps: validate ->
canonical bytes -> hash -> fresh data key -> encrypt -> wrap -> store -> outbox entry.
:func:`seal` is the one place that hashes, encrypts and wraps a payload record; it stores
nothing, so it runs on any thread or worker process. A sealed record is then committed
either alone (:func:`ingest_payload`: one put, one outbox append) or with others
(:func:`node.ingest.group.commit_group`: one blob barrier, one outbox transaction). A study
(:func:`node.ingest.study.ingest_dicom_study`) encrypts each instance under one data key
and wraps that key the same way.

Order of work, and why:

1. validate and canonicalize (done by :mod:`node.formats.fhir` / :mod:`node.formats.dicom`
   before we are called): bad input is refused before anything is stored;
2. pseudonymize the patient; if this patient already has a record with this content, return
   it (``created=False``) without storing anything: ingest is idempotent, so a client that
   retries after a crash gets the same record back;
3. fresh data key -> encrypt -> store (ciphertexts only) -> wrap the data key;
4. append the anchor entry to the outbox; its commit is the acknowledgement. If anything
   fails before that commit, the ciphertexts stored so far are discarded (best effort:
   unreferenced ciphertexts are harmless, unreadable without the DEK, which was never
   stored). Nothing partial is left in the outbox.

Nothing here logs the patient id or payload; log lines name the record id only.
"""

from __future__ import annotations

import hashlib
import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from contracts.typing import RecordKind
from keys.typing import RecordId
from node.anchor.entry import AnchorEntry
from node.anchor.outbox import Outbox
from node.exceptions import OutboxError
from node.formats.fhir import parse_fhir
from node.ingest.abc import KeyWrapperAPI, PayloadCipherAPI, PayloadStoreAPI
from node.ingest.cleanup import discard_unless_held, settle_quietly
from node.pseudonym import ConsortiumPseudonymizer
from node.typing import CID, ContentHash, PatientPseudonym

log = logging.getLogger(__name__)

PAYLOAD_AD = b"medledger:payload:v1\x00"
INSTANCE_AD = b"medledger:dicom-instance-payload:v1\x00"
MANIFEST_AD = b"medledger:dicom-manifest:v1\x00"
DEK_AD = b"medledger:dek:v1\x00"


@dataclass(frozen=True, slots=True)
class IngestServices:
    """The collaborators ingest needs (real ones come from keys/, the blob store, the node)."""

    pseudonymizer: ConsortiumPseudonymizer
    cipher: PayloadCipherAPI
    store: PayloadStoreAPI
    wrapper: KeyWrapperAPI
    outbox: Outbox

    @property
    def parts(self) -> SealParts:
        """The sealing half of these services."""
        return SealParts(self.pseudonymizer, self.cipher, self.wrapper)


@dataclass(frozen=True, slots=True)
class IngestReceipt:
    """What the caller is told once the record is durably queued for anchoring."""

    record_id: RecordId
    kind: RecordKind
    content_hash: ContentHash
    cid: CID
    created: bool


@dataclass(frozen=True, slots=True)
class SealParts:
    """What sealing needs: no store and no outbox, so it can run anywhere."""

    pseudonymizer: ConsortiumPseudonymizer
    cipher: PayloadCipherAPI
    wrapper: KeyWrapperAPI

    def for_group(self) -> SealParts:
        """These parts with the wrapper of one group (one HPKE seal for the whole group)."""
        return SealParts(self.pseudonymizer, self.cipher, self.wrapper.for_group())


@dataclass(frozen=True, slots=True)
class SealedRecord:
    """One record encrypted and its data key wrapped; not stored, not acknowledged yet."""

    record_id: RecordId
    kind: RecordKind
    pseudonym: PatientPseudonym
    content_hash: ContentHash
    salt: bytes = field(repr=False)
    wrapped_key: bytes = field(repr=False)
    ciphertext: bytes = field(repr=False)

    def entry(self, cid: CID) -> AnchorEntry:
        return AnchorEntry(self.record_id, self.kind, self.pseudonym, self.content_hash,
                           self.salt, cid, self.wrapped_key)  # fmt: skip


def seal(*, parts: SealParts, kind: RecordKind, canonical: bytes,
         local_patient_id: str) -> SealedRecord:  # fmt: skip
    """Hash, encrypt under a fresh data key and wrap that key: one payload record (CPU only)."""
    pseudonym = parts.pseudonymizer.pseudonym(local_patient_id)
    content_hash = ContentHash(hashlib.sha256(canonical).digest())
    record_id = RecordId(os.urandom(32))
    dek = parts.cipher.new_data_key()
    ciphertext = parts.cipher.encrypt(
        data_key=dek, plaintext=canonical, associated_data=PAYLOAD_AD + record_id + content_hash
    )
    wrapped = parts.wrapper.wrap(dek, associated_data=DEK_AD + record_id)
    return SealedRecord(record_id, kind, pseudonym, content_hash, os.urandom(16), wrapped,
                        ciphertext)  # fmt: skip


class StoredSoFar:
    """The CIDs stored during one ingest, discarded if the ingest does not complete."""

    def __init__(self, store: PayloadStoreAPI, outbox: Outbox, record_id: RecordId) -> None:
        self.store = store
        self.outbox = outbox
        self.record_id = record_id
        self.cids: list[CID] = []

    def put(self, ciphertext: bytes) -> CID:
        cid = self.store.put(ciphertext)
        self.cids.append(cid)
        return cid

    def put_many(self, ciphertexts: list[bytes]) -> list[CID]:
        cids = self.store.put_many(ciphertexts)
        self.cids.extend(cids)
        return cids

    def discard_all(self) -> None:
        """Discard the ciphertexts unless the record was committed after all."""
        discard_unless_held(self.store, self.outbox, [(self.record_id, self.cids)])


@contextmanager
def all_or_nothing(services: IngestServices, record_id: RecordId) -> Iterator[StoredSoFar]:
    stored = StoredSoFar(services.store, services.outbox, record_id)
    try:
        yield stored
    except BaseException:
        stored.discard_all()
        raise


def existing_receipt(
    services: IngestServices, pseudonym: PatientPseudonym, content_hash: ContentHash
) -> IngestReceipt | None:
    record_id = services.outbox.find(pseudonym, content_hash)
    if record_id is None:
        return None
    entry = services.outbox.entry(record_id)
    return IngestReceipt(record_id, entry.kind, entry.content_hash, entry.cid, created=False)


def queue_entry(services: IngestServices, stored: StoredSoFar, entry: AnchorEntry) -> IngestReceipt:
    record_id, created = services.outbox.append(entry, blobs=stored.cids)
    if not created:  # a concurrent ingest of the same content won: ours are orphans
        stored.discard_all()
        existing = existing_receipt(services, entry.pseudonym, entry.content_hash)
        if existing is None:
            raise OutboxError("the outbox refused an entry without holding an equal one")
        return existing
    settle_quietly(stored.store, stored.cids)
    log.info("record %s (%s) queued for anchoring", record_id.hex(), entry.kind.text)
    return IngestReceipt(record_id, entry.kind, entry.content_hash, entry.cid, created=True)


def ingest_payload(*, services: IngestServices, kind: RecordKind, canonical: bytes,
                   local_patient_id: str) -> IngestReceipt:  # fmt: skip
    """Seal, store and queue one payload given as canonical bytes (FHIR, a manifest...).

    A payload this patient already has is returned as it is (``created=False``) before
    anything is stored.
    """
    sealed = seal(parts=services.parts, kind=kind, canonical=canonical,
                  local_patient_id=local_patient_id)  # fmt: skip
    if (done := existing_receipt(services, sealed.pseudonym, sealed.content_hash)) is not None:
        return done
    with all_or_nothing(services, sealed.record_id) as stored:
        return queue_entry(services, stored, sealed.entry(stored.put(sealed.ciphertext)))


def ingest_fhir(*, services: IngestServices, raw: bytes,
                patient_id: str | None = None) -> IngestReceipt:  # fmt: skip
    """Validate FHIR R4 JSON (see :func:`node.formats.fhir.parse_fhir`) and ingest it."""
    payload = parse_fhir(raw, patient_id=patient_id)
    return ingest_payload(services=services, kind=payload.kind, canonical=payload.canonical,
                          local_patient_id=payload.patient_id)  # fmt: skip
