"""The real :class:`~gateway.abc.CaseStoreAPI`: the cases granted to us, from our own node.

The node's follower has replicated each received grant's sealed package and ciphertexts
into the hospital's blob store; here a package is opened with the hospital's keyring and a
record is decrypted into memory, re-hashed against the content hash the package names, and
a single-record anchor on chain is checked to commit to that hash (the grantor's anchor,
recomputed from the package's salt and pseudonym), all before a byte is handed over.

Not checked yet: inclusion of a *batch-anchored* record in its grantor's batch (nodes
anchor in batches; the package carries no Merkle proof and the batch manifest lives in
the grantor's blob store). Such a record is served on the AEAD tag (bound to its record id
and content hash) and the SHA-256 re-hash alone.

DICOM studies are anchored as one encrypted study manifest per study; their instances
are opened and verified by :mod:`gateway.wiring.studies` (decrypted per request: fine for
a demo's studies, a cache of verified headers is the next step for large ones).
"""

from __future__ import annotations

import io
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import BinaryIO

from pydicom.dataset import Dataset

from gateway.abc import CaseStoreAPI
from gateway.domain import InstanceHeader, RecordInfo
from gateway.exceptions import IntegrityError, NotFound
from gateway.typing import CaseId, DicomUID, GrantId, RecordId
from gateway.wiring.chain_view import grant_number
from gateway.wiring.studies import StudyInstance, header_of, instance_bytes, study_instances
from keys.exceptions import KeysError
from node.cases.access import check_anchor, granted_package
from node.cases.crypto import open_record
from node.cases.package import GrantPackage, PackageRecord
from node.cases.service import CaseServices
from node.entry import RecordKind
from node.exceptions import NodeError

#: What each record kind is served as (FHIR resources and prescriptions are FHIR JSON).
MEDIA_TYPES = {
    RecordKind.FHIR.value: "application/fhir+json",
    RecordKind.PRESCRIPTION.value: "application/fhir+json",
}


class NodeCaseStore(CaseStoreAPI):
    """Records of received grants, verified (hash and anchor) before they are released.

    ``services`` is the node's case service bundle opened read-side by the gateway (its
    issuer unused: the gateway never signs tokens).
    """

    def __init__(self, services: CaseServices) -> None:
        self._services = services

    def _package(self, grant: GrantId) -> GrantPackage | None:
        try:
            return granted_package(services=self._services, grant_id=grant_number(grant))
        except (NodeError, KeysError):
            return None

    def _served(
        self, grants: Collection[GrantId]
    ) -> list[tuple[GrantId, GrantPackage, PackageRecord]]:
        out = []
        for grant in sorted(set(grants)):
            package = self._package(grant)
            if package is None:
                continue
            out += [(grant, package, r) for r in package.records if r.kind in MEDIA_TYPES]
        return out

    def _plaintext(self, package: GrantPackage, record: PackageRecord) -> bytes:
        p = self._services
        try:
            data = open_record(store=p.blobs, keyring=p.keyring, cid=record.cid,
                               record_id=record.record_id, content_hash=record.content_hash,
                               wrapped_key=record.wrapped_key)  # fmt: skip
        except (ValueError, KeysError, NodeError) as exc:
            raise IntegrityError("the record does not match its anchored content hash") from exc
        try:
            single = p.chain.record_anchor(record.record_id)
            anchored = single is None or check_anchor(
                services=self._services, record=record, grantor=package.grantor
            )
        except NodeError as exc:
            raise IntegrityError("the record's anchor cannot be checked") from exc
        if not anchored:
            raise IntegrityError("the record's anchor does not commit to its content")
        return data

    def list_records(self, *, grants: Collection[GrantId]) -> Sequence[RecordInfo]:
        return [
            RecordInfo(
                record_id=RecordId(bytes(r.record_id)),
                case_id=CaseId(package.case_id),
                grant_id=grant,
                media_type=MEDIA_TYPES[r.kind],
                size=len(self._plaintext(package, r)),
                content_hash=bytes(r.content_hash),
            )
            for grant, package, r in self._served(grants)
        ]

    def open_record(self, *, grants: Collection[GrantId], record: RecordId) -> BinaryIO:
        for _grant, package, r in self._served(grants):
            if bytes(r.record_id) == bytes(record):
                return io.BytesIO(self._plaintext(package, r))
        raise NotFound("no such record under your grants")

    def _instances(self, grants: Collection[GrantId]) -> list[_Instance]:
        p = self._services
        found = []
        for grant in sorted(set(grants)):
            package = self._package(grant)
            if package is None:
                continue
            for record in package.records:
                if record.kind != RecordKind.DICOM_STUDY.value:
                    continue
                dek, items = study_instances(record, blobs=p.blobs, keyring=p.keyring)
                for item in items:
                    data = instance_bytes(record, item, dek=dek, blobs=p.blobs)
                    found.append(_Instance(grant, item, data, header_of(data)))
        found.sort(key=lambda i: (i.item.study_uid, i.item.series_uid,
                                  int(getattr(i.header, "InstanceNumber", 0) or 0),
                                  i.item.sop_uid))  # fmt: skip
        return found

    def list_instances(
        self,
        *,
        grants: Collection[GrantId],
        study: DicomUID | None = None,
        series: DicomUID | None = None,
        sop: DicomUID | None = None,
    ) -> Sequence[InstanceHeader]:
        return [
            InstanceHeader(
                grant_id=i.grant,
                study_uid=DicomUID(i.item.study_uid),
                series_uid=DicomUID(i.item.series_uid),
                sop_uid=DicomUID(i.item.sop_uid),
                transfer_syntax=DicomUID(str(i.header.file_meta.TransferSyntaxUID)),
                dataset=i.header,
            )
            for i in self._instances(grants)
            if (study is None or i.item.study_uid == study)
            and (series is None or i.item.series_uid == series)
            and (sop is None or i.item.sop_uid == sop)
        ]

    def open_instance(
        self,
        *,
        grants: Collection[GrantId],
        study: DicomUID,
        series: DicomUID,
        sop: DicomUID,
    ) -> BinaryIO:
        for i in self._instances(grants):
            if (i.item.study_uid, i.item.series_uid, i.item.sop_uid) == (study, series, sop):
                return io.BytesIO(i.data)
        raise NotFound("no such instance under your grants")


@dataclass(frozen=True, slots=True)
class _Instance:
    grant: GrantId
    item: StudyInstance
    data: bytes
    header: Dataset
