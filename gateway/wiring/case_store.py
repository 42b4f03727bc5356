"""The real :class:`~gateway.abc.CaseStoreAPI`: the cases granted to us, from our own node.

The verification is the node's (:mod:`node.cases.read`): on every release of bytes the
record's anchor is checked against the chain, its ciphertext decrypted and re-hashed
against the anchored content hash (a DICOM instance against its hash in the study manifest,
whose tree rebuilds the anchored study root). Here the node's answers become the gateway's:
grant ids, record and instance listings, and the node's refusals mapped to the gateway's
errors, each refusal reported on the ``gateway.integrity`` log (record id and reason only:
a record id is random, not PHI).

Cached here, and why that is safe: instance headers and record sizes, keyed by the verified
content hash, each in a bounded LRU memo (the node's reader caches packages, keys and
checked manifests; chain facts are cached by the chain view). Bytes are never cached.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Collection, Iterator, Sequence
from contextlib import contextmanager
from typing import BinaryIO

from pydicom.dataset import Dataset

from common.lru import BoundedMemo
from gateway.abc import CaseStoreAPI, ChainViewAPI
from gateway.domain import InstanceHeader, RecordInfo
from gateway.exceptions import (
    ChainUnavailable,
    ContentMismatch,
    IntegrityError,
    NotAnchored,
    NotFound,
    ProofInvalid,
)
from gateway.typing import DicomUID
from gateway.wiring.chain_view import grant_number
from keys.typing import CaseId, GrantId, RecordId
from node import exceptions as node_errors
from node.cases.read import (
    MEDIA_TYPES,
    GrantReader,
    PackageRecord,
    ReceivedGrant,
    StudyInstance,
    VerifiedStudy,
    instance_header,
)
from node.cases.service import CaseServices

report = logging.getLogger("gateway.integrity")

#: The gateway error each node refusal is served as (most specific class first).
REFUSALS: tuple[tuple[type[node_errors.RecordRefused], type[IntegrityError]], ...] = (
    (node_errors.ContentHashMismatch, ContentMismatch),
    (node_errors.InclusionRejected, ProofInvalid),
    (node_errors.AnchorMissing, NotAnchored),
    (node_errors.RecordRefused, IntegrityError),
)


def refusal(exc: node_errors.RecordRefused) -> IntegrityError:
    """The gateway error for a node refusal, logged (record id + reason code)."""
    error = next(g(str(exc)) for n, g in REFUSALS if isinstance(exc, n))
    report.error("refused record %s: %s (%s)", exc.record_id.hex(), error.code, error)
    return error


@contextmanager
def _served() -> Iterator[None]:
    """Map the node reader's failures to the gateway's errors."""
    try:
        yield
    except node_errors.RecordRefused as exc:
        raise refusal(exc) from exc
    except node_errors.InstanceUnparsable as exc:
        raise IntegrityError(str(exc)) from exc
    except node_errors.ChainUnavailable as exc:
        raise ChainUnavailable(str(exc)) from exc


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
        self._reader = GrantReader(services, batches=chain)
        self._chain = chain
        self._headers: BoundedMemo[bytes, Dataset] = BoundedMemo()
        self._sizes: BoundedMemo[bytes, int] = BoundedMemo()

    def _granted(self, grants: Collection[GrantId]) -> list[tuple[GrantId, ReceivedGrant]]:
        out = []
        for grant in sorted(set(grants)):
            try:
                out.append((grant, self._reader.received(grant_number(grant))))
            except node_errors.NodeError:
                continue  # not received or replicated (yet), or not ours: nothing to serve
        return out

    # --- FHIR records -----------------------------------------------------------------------

    def _plaintext(self, granted: ReceivedGrant, record: PackageRecord) -> bytes:
        with _served():
            data = self._reader.document(granted, record)
        self._sizes.put(bytes(record.content_hash), len(data))
        return data

    def _records(self, grants: Collection[GrantId]
                 ) -> list[tuple[GrantId, ReceivedGrant, PackageRecord]]:  # fmt: skip
        return [(g, p, r) for g, p in self._granted(grants) for r in p.documents]

    def list_records(self, *, grants: Collection[GrantId]) -> Sequence[RecordInfo]:
        out = []
        for grant, granted, r in self._records(grants):
            size = self._sizes.get(bytes(r.content_hash))
            if size is None:
                size = len(self._plaintext(granted, r))
            out.append(RecordInfo(
                record_id=RecordId(bytes(r.record_id)), case_id=CaseId(granted.package.case_id),
                grant_id=grant, media_type=MEDIA_TYPES[r.kind], size=size,
                content_hash=bytes(r.content_hash), anchor_block=self._anchor_block(r),
            ))  # fmt: skip
        return out

    def _anchor_block(self, record: PackageRecord) -> int | None:
        # Only after _plaintext verified the inclusion path to this root (list_records).
        if record.inclusion is None:
            return None
        batch = self._chain.batch_anchor(root=bytes(record.inclusion.batch_root))
        return None if batch is None else batch.block_number

    def open_record(self, *, grants: Collection[GrantId], record: RecordId) -> BinaryIO:
        for _grant, granted, r in self._records(grants):
            if bytes(r.record_id) == bytes(record):
                return io.BytesIO(self._plaintext(granted, r))
        raise NotFound("no such record under your grants")

    # --- DICOM studies ----------------------------------------------------------------------

    def _studies_of(self, grants: Collection[GrantId]) -> list[tuple[GrantId, VerifiedStudy]]:
        out = []
        for grant, granted in self._granted(grants):
            for record in granted.studies:
                with _served():
                    out.append((grant, self._reader.study(granted, record)))
        return out

    def _bytes(self, study: VerifiedStudy, item: StudyInstance) -> bytes:
        with _served():
            data = self._reader.instance(study, item)
            if self._headers.get(item.sha256) is None:
                self._headers.put(item.sha256, instance_header(data))
        return data

    def _header(self, study: VerifiedStudy, item: StudyInstance) -> Dataset:
        header = self._headers.get(item.sha256)
        if header is None:
            data = self._bytes(study, item)
            with _served():
                header = self._headers.put(item.sha256, instance_header(data))
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
                    dataset=header, record_id=RecordId(bytes(s.record.record_id)),
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
