"""The ingest core: canonical bytes in, an anchor entry in the durable outbox out.

Every way in (HTTP, the CLI, bulk imports, DICOM studies) runs the same steps: validate ->
canonical bytes -> hash -> fresh data key -> encrypt -> wrap -> store -> outbox entry.
:func:`seal` is the one place that hashes, encrypts and wraps a payload record; it stores
nothing, so it runs on any thread or worker process. A sealed record is then committed
either alone (:func:`ingest_payload`: one put, one outbox append) or with others
(:func:`node.ingest.group.commit_group`: one blob barrier, one outbox transaction). A study
(:func:`ingest_dicom_study`) encrypts each instance under one data key and wraps that key
the same way.

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
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field

from contracts.typing import RecordKind
from keys.typing import RecordId
from node.anchor.entry import AnchorEntry
from node.anchor.outbox import Outbox
from node.exceptions import OutboxError, PatientUnresolved
from node.formats.dicom import DicomInstance, DicomStudy
from node.formats.fhir import parse_fhir
from node.formats.study_manifest import ManifestInstance, StudyManifest
from node.ingest.abc import KeyWrapperAPI, PayloadCipherAPI, PayloadStoreAPI
from node.pseudonym import ConsortiumPseudonymizer
from node.typing import CID, ContentHash, PatientPseudonym

log = logging.getLogger(__name__)

PAYLOAD_AD = b"medledger:payload:v1\x00"
INSTANCE_AD = b"medledger:dicom-instance-payload:v1\x00"
MANIFEST_AD = b"medledger:dicom-manifest:v1\x00"
DEK_AD = b"medledger:dek:v1\x00"
#: A study's encrypted instances are stored in groups of up to this many bytes (one
#: durability barrier per group, not per instance; a CT study can be gigabytes, so never all
#: of it in memory at once), and an instance larger than the item limit closes its group.
DICOM_GROUP_BYTES = 32 * 1024 * 1024
DICOM_GROUP_ITEM_BYTES = 4 * 1024 * 1024


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


def settle_quietly(store: PayloadStoreAPI, cids: Iterable[CID]) -> None:
    """:meth:`PayloadStoreAPI.settle` after a commit, where a failure must not fail the ingest.

    The records are acknowledged by then; a journal line left behind only makes the next
    start-up sweep look at a CID that it will find referenced.
    """
    try:
        store.settle(cids)
    except Exception:
        log.warning("could not settle the ingest journal; the start-up sweep will")


def discard_orphans(store: PayloadStoreAPI, cids: Iterable[CID]) -> None:
    """Discard ciphertexts that no committed record holds, and settle them (best effort)."""
    settled: list[CID] = []
    for cid in cids:
        try:
            store.discard(cid)
            settled.append(cid)
        except Exception:  # the start-up sweep catches what is left
            log.warning("could not discard an orphan ciphertext %s", cid)
    settle_quietly(store, settled)


def discard_unless_held(
    store: PayloadStoreAPI, outbox: Outbox, stored: Iterable[tuple[RecordId, Sequence[CID]]]
) -> None:
    """After a failed ingest: discard each record's ciphertexts unless it was committed after all.

    The check matters when the failure (say ``KeyboardInterrupt``) lands after the outbox
    commit: the record is acknowledged and its ciphertexts must stay. They were stored for
    that record id alone (fresh data key), so they are orphans exactly when the outbox does
    not hold the record. A record the outbox cannot answer for is left to the start-up sweep.
    """
    held: list[CID] = []
    orphans: list[CID] = []
    for record_id, cids in stored:
        try:
            (held if outbox.holds(record_id) else orphans).extend(cids)
        except Exception:
            log.warning("could not tell whether record %s was committed", record_id.hex())
    settle_quietly(store, held)
    discard_orphans(store, orphans)


class _Stored:
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
def _all_or_nothing(services: IngestServices, record_id: RecordId) -> Iterator[_Stored]:
    stored = _Stored(services.store, services.outbox, record_id)
    try:
        yield stored
    except BaseException:
        stored.discard_all()
        raise


def _existing(
    services: IngestServices, pseudonym: PatientPseudonym, content_hash: ContentHash
) -> IngestReceipt | None:
    record_id = services.outbox.find(pseudonym, content_hash)
    if record_id is None:
        return None
    entry = services.outbox.entry(record_id)
    return IngestReceipt(record_id, entry.kind, entry.content_hash, entry.cid, created=False)


def _queue(services: IngestServices, stored: _Stored, entry: AnchorEntry) -> IngestReceipt:
    record_id, created = services.outbox.append(entry, blobs=stored.cids)
    if not created:  # a concurrent ingest of the same content won: ours are orphans
        stored.discard_all()
        existing = _existing(services, entry.pseudonym, entry.content_hash)
        if existing is None:
            raise OutboxError("the outbox refused an entry without holding an equal one")
        return existing
    settle_quietly(stored.store, stored.cids)
    log.info("record %s (%s) queued for anchoring", record_id.hex(), entry.kind.text)
    return IngestReceipt(record_id, entry.kind, entry.content_hash, entry.cid, created=True)


def sweep_orphans(*, outbox: Outbox, store: PayloadStoreAPI, stored: Iterable[CID]) -> int:
    """Discard stored ciphertexts no record references; return how many.

    Call at node start, before ingest resumes (see :meth:`Outbox.referenced_cids`);
    ``stored`` lists what the blob store holds (its pins).
    """
    orphans = set(stored) - outbox.referenced_cids()
    for cid in orphans:
        store.discard(cid)
    if orphans:
        log.info("discarded %d orphan ciphertexts left by an interrupted ingest", len(orphans))
    return len(orphans)


def ingest_payload(*, services: IngestServices, kind: RecordKind, canonical: bytes,
                   local_patient_id: str) -> IngestReceipt:  # fmt: skip
    """Seal, store and queue one payload given as canonical bytes (FHIR, a manifest...).

    A payload this patient already has is returned as it is (``created=False``) before
    anything is stored.
    """
    sealed = seal(parts=services.parts, kind=kind, canonical=canonical,
                  local_patient_id=local_patient_id)  # fmt: skip
    if (done := _existing(services, sealed.pseudonym, sealed.content_hash)) is not None:
        return done
    with _all_or_nothing(services, sealed.record_id) as stored:
        return _queue(services, stored, sealed.entry(stored.put(sealed.ciphertext)))


def ingest_fhir(*, services: IngestServices, raw: bytes,
                patient_id: str | None = None) -> IngestReceipt:  # fmt: skip
    """Validate FHIR R4 JSON (see :func:`node.formats.fhir.parse_fhir`) and ingest it."""
    payload = parse_fhir(raw, patient_id=patient_id)
    return ingest_payload(services=services, kind=payload.kind, canonical=payload.canonical,
                          local_patient_id=payload.patient_id)  # fmt: skip


def ingest_dicom_study(*, services: IngestServices, study: DicomStudy,
                       patient_id: str | None = None) -> IngestReceipt:  # fmt: skip
    """Ingest a study read by :func:`node.formats.dicom.read_study` as one record.

    Each instance is encrypted on its own (so one can be fetched and proven alone) under the
    study's one data key; an encrypted manifest (UIDs, instance hashes, CIDs) is the
    record's CID; the record's content hash is the study root. Instances are stored with
    :meth:`PayloadStoreAPI.put_many` in groups (:data:`DICOM_GROUP_BYTES`): the blob store's
    durability barrier per instance was most of the time of a study of small instances.
    """
    local_id = patient_id or study.patient_id
    if local_id is None:
        raise PatientUnresolved("the study names no PatientID; give the local patient id")
    if patient_id is not None and study.patient_id not in (None, patient_id):
        raise PatientUnresolved("the study names a different patient than the one given")
    pseudonym = services.pseudonymizer.pseudonym(local_id)
    tree = study.tree()
    root = tree.root
    if (done := _existing(services, pseudonym, root)) is not None:
        return done
    record_id = RecordId(os.urandom(32))
    with _all_or_nothing(services, record_id) as stored:
        dek = services.cipher.new_data_key()
        listed: list[ManifestInstance] = []
        group: list[tuple[DicomInstance, bytes]] = []
        held = 0  # ciphertext bytes in ``group``

        def put_group() -> None:
            cids = stored.put_many([ciphertext for _, ciphertext in group])
            listed.extend(ManifestInstance(inst.series_uid, inst.sop_uid, inst.content_hash, cid)
                          for (inst, _), cid in zip(group, cids, strict=True))  # fmt: skip
            group.clear()

        for inst, data in study.instance_bytes():
            ad = INSTANCE_AD + record_id + inst.content_hash
            ciphertext = services.cipher.encrypt(data_key=dek, plaintext=data, associated_data=ad)
            group.append((inst, ciphertext))
            held += len(ciphertext)
            if len(ciphertext) > DICOM_GROUP_ITEM_BYTES or held >= DICOM_GROUP_BYTES:
                put_group()
                held = 0
        if group:
            put_group()
        manifest = StudyManifest(study.study_uid, root, tuple(listed)).encode()
        ad = MANIFEST_AD + record_id + root
        cid = stored.put(services.cipher.encrypt(data_key=dek, plaintext=manifest,
                                                 associated_data=ad))  # fmt: skip
        wrapped = services.wrapper.wrap(dek, associated_data=DEK_AD + record_id)
        entry = AnchorEntry(record_id, RecordKind.DICOM_STUDY, pseudonym, root, os.urandom(16),
                            cid, wrapped)  # fmt: skip
        return _queue(services, stored, entry)
