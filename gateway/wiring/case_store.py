"""The real :class:`~gateway.abc.CaseStoreAPI`: the cases granted to us, from our own node.

The node's follower has replicated each received grant's sealed package and ciphertexts
into the hospital's blob store. On *every* release of bytes, here:

1. the record's anchor is checked (:mod:`gateway.wiring.anchor_check`): its batch inclusion
   proof must lead to a root the grantor anchored on chain (or, for a record anchored
   alone, its record anchor must commit to it);
2. the ciphertext is read from the blob store, its data key unwrapped, decrypted and the
   plaintext re-hashed against the anchored content hash (a DICOM instance against its
   hash in the study manifest, whose tree rebuilds the anchored study root).

What is cached, and why that is safe: opened packages (keyed by their CID: content
addressed, so immutable) and the data keys unwrapped from them, study manifests once they
rebuilt the anchored study root (keyed by package CID and record), instance headers and
record sizes (keyed by the verified content hash), each in a bounded LRU memo. Bytes are
never cached: a blob tampered with after a first read is refused on the next. Chain facts
are cached by the chain view (found batch roots are final, bounded too).
"""

from __future__ import annotations

import io
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import BinaryIO

from pydicom.dataset import Dataset

from common.lru import BoundedMemo
from contracts.typing import RecordKind
from gateway.abc import CaseStoreAPI, ChainViewAPI
from gateway.domain import InstanceHeader, RecordInfo
from gateway.exceptions import ContentMismatch, IntegrityError, NotFound
from gateway.typing import DicomUID
from gateway.wiring.anchor_check import check_anchored, refuse
from gateway.wiring.chain_view import grant_number
from gateway.wiring.plaintext import verified_plaintext
from gateway.wiring.studies import StudyInstance, header_of, instance_bytes, study_instances
from keys.datakey import DataKey
from keys.exceptions import KeysError
from keys.typing import CaseId, GrantId, RecordId
from node.blobstore.cid import normalize
from node.cases.crypto import dek_binding
from node.cases.package import MAX_PACKAGE_BYTES, GrantPackage, PackageRecord
from node.cases.sealed import open_package
from node.cases.service import CaseServices
from node.exceptions import NodeError
from node.ingest.core import PAYLOAD_AD

#: What each record kind is served as (FHIR resources and prescriptions are FHIR JSON).
MEDIA_TYPES = {
    RecordKind.RECORD.text: "application/fhir+json",
    RecordKind.PRESCRIPTION.text: "application/fhir+json",
}
UIDs = tuple[str, str, str]


@dataclass(frozen=True, slots=True)
class _Granted:
    """One received grant's opened package, and its DICOM instances once indexed."""

    grant: GrantId
    cid: str
    package: GrantPackage


@dataclass(frozen=True, slots=True)
class _Study:
    record: PackageRecord
    dek: DataKey
    items: tuple[StudyInstance, ...]


class NodeCaseStore(CaseStoreAPI):
    """Records of received grants, verified (anchor and hash) on every release.

    Parameters
    ----------
    services
        The node's case services opened read-side (the issuer unused: a gateway never
        signs tokens).
    chain
        The gateway's chain view, for batch roots.
    """

    def __init__(self, services: CaseServices, *, chain: ChainViewAPI) -> None:
        self._services = services
        self._chain = chain
        self._packages: BoundedMemo[str, GrantPackage] = BoundedMemo()
        self._studies: BoundedMemo[tuple[str, bytes], _Study] = BoundedMemo()
        self._keys: BoundedMemo[tuple[str, bytes], DataKey] = BoundedMemo()
        self._headers: BoundedMemo[bytes, Dataset] = BoundedMemo()
        self._sizes: BoundedMemo[bytes, int] = BoundedMemo()

    # --- packages ---------------------------------------------------------------------------

    def _granted(self, grants: Collection[GrantId]) -> list[_Granted]:
        out = []
        for grant in sorted(set(grants)):
            row = self._services.store.grant_row(grant_number(grant))
            if row is None or row["direction"] != "received" or row["package_cid"] is None:
                continue
            cid = str(row["package_cid"])
            package = self._packages.get(cid) or self._open_package(cid, grant)
            if package is not None:
                out.append(_Granted(grant, cid, package))
        return out

    def _open_package(self, cid: str, grant: GrantId) -> GrantPackage | None:
        p = self._services
        try:
            data = b"".join(p.blobs.get(normalize(cid)))
            if len(data) > MAX_PACKAGE_BYTES:
                return None
            package = open_package(data, p.keyring, grant_id=grant_number(grant))
        except (NodeError, KeysError):
            return None  # not replicated (yet), or not ours: nothing to serve under it
        return self._packages.put(cid, package)

    def _check(self, granted: _Granted, record: PackageRecord) -> None:
        check_anchored(record, grantor=granted.package.grantor, chain=self._chain,
                       case_chain=self._services.chain)  # fmt: skip

    # --- FHIR records -----------------------------------------------------------------------

    def _data_key(self, granted: _Granted, record: PackageRecord) -> DataKey:
        """The record's unwrapped data key, kept per opened package (as a study's is)."""
        key = (granted.cid, bytes(record.record_id))
        dek = self._keys.get(key)
        if dek is None:
            try:
                dek = self._services.keyring.unwrap(
                    record.wrapped_key, record_id=dek_binding(record.record_id)
                )
            except KeysError as exc:
                raise refuse(record, ContentMismatch("the record's key does not unwrap")) from exc
            self._keys.put(key, dek)
        return dek

    def _plaintext(self, granted: _Granted, record: PackageRecord) -> bytes:
        self._check(granted, record)
        aad = PAYLOAD_AD + record.record_id + record.content_hash
        try:
            data = verified_plaintext(blobs=self._services.blobs, cid=record.cid,
                                      dek=self._data_key(granted, record), aad=aad,
                                      sha256=record.content_hash, what="the record")  # fmt: skip
        except ContentMismatch as exc:
            raise refuse(record, exc) from exc
        self._sizes.put(bytes(record.content_hash), len(data))
        return data

    def _records(self, grants: Collection[GrantId]) -> list[tuple[_Granted, PackageRecord]]:
        return [(g, r) for g in self._granted(grants) for r in g.package.records
                if r.kind in MEDIA_TYPES]  # fmt: skip

    def list_records(self, *, grants: Collection[GrantId]) -> Sequence[RecordInfo]:
        out = []
        for granted, r in self._records(grants):
            size = self._sizes.get(bytes(r.content_hash))
            if size is None:
                size = len(self._plaintext(granted, r))
            out.append(RecordInfo(
                record_id=RecordId(bytes(r.record_id)), case_id=CaseId(granted.package.case_id),
                grant_id=granted.grant, media_type=MEDIA_TYPES[r.kind], size=size,
                content_hash=bytes(r.content_hash),
            ))  # fmt: skip
        return out

    def open_record(self, *, grants: Collection[GrantId], record: RecordId) -> BinaryIO:
        for granted, r in self._records(grants):
            if bytes(r.record_id) == bytes(record):
                return io.BytesIO(self._plaintext(granted, r))
        raise NotFound("no such record under your grants")

    # --- DICOM studies ----------------------------------------------------------------------

    def _study(self, granted: _Granted, record: PackageRecord) -> _Study:
        """The study's manifest, its anchor checked now and its tree checked once."""
        self._check(granted, record)
        key = (granted.cid, bytes(record.record_id))
        study = self._studies.get(key)
        if study is None:
            p = self._services
            try:
                dek, items = study_instances(record, blobs=p.blobs, keyring=p.keyring)
            except IntegrityError as exc:
                raise refuse(record, exc) from exc
            study = _Study(record, dek, tuple(items))
            self._studies.put(key, study)
        return study

    def _studies_of(self, grants: Collection[GrantId]) -> list[tuple[GrantId, _Study]]:
        return [(g.grant, self._study(g, r)) for g in self._granted(grants)
                for r in g.package.records if r.kind == RecordKind.DICOM_STUDY.text]  # fmt: skip

    def _bytes(self, study: _Study, item: StudyInstance) -> bytes:
        try:
            data = instance_bytes(study.record, item, dek=study.dek, blobs=self._services.blobs)
        except ContentMismatch as exc:
            raise refuse(study.record, exc) from exc
        if self._headers.get(item.sha256) is None:
            self._headers.put(item.sha256, header_of(data))
        return data

    def _header(self, study: _Study, item: StudyInstance) -> Dataset:
        header = self._headers.get(item.sha256)
        if header is None:
            header = self._headers.put(item.sha256, header_of(self._bytes(study, item)))
        return header

    def list_instances(
        self,
        *,
        grants: Collection[GrantId],
        study: DicomUID | None = None,
        series: DicomUID | None = None,
        sop: DicomUID | None = None,
    ) -> Sequence[InstanceHeader]:
        found, seen = [], set()
        for grant, s in self._studies_of(grants):
            for item in s.items:
                uids = (item.study_uid, item.series_uid, item.sop_uid)
                if uids in seen:  # the same study under several grants: listed once
                    continue
                seen.add(uids)
                if ((study is not None and item.study_uid != study)
                        or (series is not None and item.series_uid != series)
                        or (sop is not None and item.sop_uid != sop)):  # fmt: skip
                    continue
                header = self._header(s, item)
                found.append(InstanceHeader(
                    grant_id=grant, study_uid=DicomUID(item.study_uid),
                    series_uid=DicomUID(item.series_uid), sop_uid=DicomUID(item.sop_uid),
                    transfer_syntax=DicomUID(str(header.file_meta.TransferSyntaxUID)),
                    dataset=header,
                ))  # fmt: skip
        found.sort(key=lambda h: (h.study_uid, h.series_uid,
                                  int(getattr(h.dataset, "InstanceNumber", 0) or 0),
                                  h.sop_uid))  # fmt: skip
        return found

    def open_instance(
        self,
        *,
        grants: Collection[GrantId],
        study: DicomUID,
        series: DicomUID,
        sop: DicomUID,
    ) -> BinaryIO:
        for _grant, s in self._studies_of(grants):
            for item in s.items:
                if (item.study_uid, item.series_uid, item.sop_uid) == (study, series, sop):
                    return io.BytesIO(self._bytes(s, item))
        raise NotFound("no such instance under your grants")
