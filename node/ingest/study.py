"""A DICOM study as one record: the ingest core's steps, with one data key for the study.

Each instance is encrypted on its own (so one can be fetched and proven alone) under the
study's data key and stored in groups; the study manifest
(:mod:`node.formats.study_manifest`) is encrypted as the record's CID and the study root is
the record's content hash. The data key is wrapped, and the anchor entry queued, exactly as
for a payload record (:mod:`node.ingest.core`).
"""

from __future__ import annotations

import os

from contracts.typing import RecordKind
from keys.typing import RecordId
from node.anchor.entry import AnchorEntry
from node.exceptions import PatientUnresolved
from node.formats.dicom import DicomInstance, DicomStudy
from node.formats.study_manifest import ManifestInstance, StudyManifest
from node.ingest.core import (
    DEK_AD,
    INSTANCE_AD,
    MANIFEST_AD,
    IngestReceipt,
    IngestServices,
    StoredSoFar,
    all_or_nothing,
    existing_receipt,
    queue_entry,
)

#: A study's encrypted instances are stored in groups of up to this many bytes (one
#: durability barrier per group, not per instance; a CT study can be gigabytes, so never all
#: of it in memory at once), and an instance larger than the item limit closes its group.
DICOM_GROUP_BYTES = 32 * 1024 * 1024
DICOM_GROUP_ITEM_BYTES = 4 * 1024 * 1024


def _store_instances(services: IngestServices, stored: StoredSoFar, study: DicomStudy,
                     dek: bytes) -> list[ManifestInstance]:  # fmt: skip
    """Encrypt and store every instance, a group per :data:`DICOM_GROUP_BYTES`; in order."""
    listed: list[ManifestInstance] = []
    group: list[tuple[DicomInstance, bytes]] = []
    held = 0  # ciphertext bytes in ``group``

    def put_group() -> None:
        cids = stored.put_many([ciphertext for _, ciphertext in group])
        listed.extend(ManifestInstance(inst.series_uid, inst.sop_uid, inst.content_hash, cid)
                      for (inst, _), cid in zip(group, cids, strict=True))  # fmt: skip
        group.clear()

    for inst, data in study.instance_bytes():
        ad = INSTANCE_AD + stored.record_id + inst.content_hash
        ciphertext = services.cipher.encrypt(data_key=dek, plaintext=data, associated_data=ad)
        group.append((inst, ciphertext))
        held += len(ciphertext)
        if len(ciphertext) > DICOM_GROUP_ITEM_BYTES or held >= DICOM_GROUP_BYTES:
            put_group()
            held = 0
    if group:
        put_group()
    return listed


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
    if (done := existing_receipt(services, pseudonym, root)) is not None:
        return done
    record_id = RecordId(os.urandom(32))
    with all_or_nothing(services, record_id) as stored:
        dek = services.cipher.new_data_key()
        listed = _store_instances(services, stored, study, dek)
        manifest = StudyManifest(study.study_uid, root, tuple(listed)).encode()
        ad = MANIFEST_AD + record_id + root
        cid = stored.put(services.cipher.encrypt(data_key=dek, plaintext=manifest,
                                                 associated_data=ad))  # fmt: skip
        wrapped = services.wrapper.wrap(dek, associated_data=DEK_AD + record_id)
        entry = AnchorEntry(record_id, RecordKind.DICOM_STUDY, pseudonym, root, os.urandom(16),
                            cid, wrapped)  # fmt: skip
        return queue_entry(services, stored, entry)
