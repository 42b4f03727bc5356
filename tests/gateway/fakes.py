"""In-test implementations of the gateway's seams.

They stand in for what other issues build: the web3.py view of the Consortium/Grants
contracts (``TableChainView``), the node's verified case store over the blob store
(``FileCaseStore``) and the chain-event reader (``DictAuditSource``). The things under
test are the gateway's HTTP, auth and DICOMweb layers; these fakes keep the same
contracts (scope filtering, verify-before-release) so those layers are exercised honestly.
"""

from __future__ import annotations

import dataclasses
import hashlib
import io
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

import pydicom

from contracts.views import AnchoredBatch
from gateway.abc import AuditSourceAPI, CaseStoreAPI, ChainViewAPI
from gateway.domain import (
    GrantState,
    InstanceHeader,
    PhysicianApproval,
    PhysicianStatus,
    RecordInfo,
    Redemption,
)
from gateway.exceptions import IntegrityError, NotFound
from gateway.timeline import Timeline
from gateway.typing import DicomUID, PhysicianAddress
from keys.typing import CaseId, GrantId, HospitalAddress, RecordId


def grant_state(grant: GrantId, grantee: str, **changes: object) -> GrantState:
    """A live grant to `grantee`, with `changes` applied (revoked=True, expiry=...)."""
    values: dict[str, object] = {
        "grant_id": grant,
        "case_id": CaseId(grant),
        "grantor": HospitalAddress("0x" + "22" * 20),  # type: ignore[arg-type]
        "grantee": grantee,
        "expiry": 1_790_000_000.0 + 86400,
        "revoked": False,
        "uses_left": 3,
        "referral_active": True,
    }
    values.update(changes)
    return GrantState(**values)  # type: ignore[arg-type]


@dataclass
class TableChainView(ChainViewAPI):
    """Chain state as plain tables (stands in for the contracts read through web3.py)."""

    physicians: dict[tuple[str, str], PhysicianStatus] = field(default_factory=dict)
    grants: dict[GrantId, GrantState] = field(default_factory=dict)
    redemptions: list[Redemption] = field(default_factory=list)
    approvals: list[PhysicianApproval] = field(default_factory=list)
    #: What the contract's re-check would revert with (a race the gateway's checks lost).
    revert_with: Exception | None = None
    batches: dict[bytes, AnchoredBatch] = field(default_factory=dict)

    def physician_status(
        self, *, hospital: HospitalAddress, physician: PhysicianAddress
    ) -> PhysicianStatus:
        return self.physicians.get((hospital, physician), PhysicianStatus.NOT_REGISTERED)

    def grant_state(self, *, grant: GrantId) -> GrantState | None:
        return self.grants.get(grant)

    def batch_anchor(self, *, root: bytes) -> AnchoredBatch | None:
        return self.batches.get(root)

    def record_redemption(
        self, *, grant: GrantId, token: str, approval: PhysicianApproval
    ) -> Redemption:
        if self.revert_with is not None:
            raise self.revert_with
        physician = approval.physician
        self.approvals.append(approval)
        state = self.grants[grant]
        self.grants[grant] = dataclasses.replace(state, uses_left=state.uses_left - 1)
        number = len(self.redemptions) + 1
        redemption = Redemption(grant, physician, number.to_bytes(32, "big"), 100 + number)
        self.redemptions.append(redemption)
        return redemption


@dataclass(frozen=True)
class _Stored:
    grant: GrantId
    case: CaseId
    path: Path
    digest: bytes  # the "anchored commitment": sha256 of the bytes when they were added
    header: InstanceHeader


class FileCaseStore(CaseStoreAPI):
    """DICOM files on disk per grant; re-hashes each file before handing it out."""

    def __init__(self) -> None:
        self._items: list[_Stored] = []

    def add(self, grant: GrantId, path: Path, case: CaseId | None = None) -> InstanceHeader:
        data = path.read_bytes()
        ds = pydicom.dcmread(io.BytesIO(data), stop_before_pixels=True)
        header = InstanceHeader(
            grant_id=grant,
            study_uid=DicomUID(str(ds.StudyInstanceUID)),
            series_uid=DicomUID(str(ds.SeriesInstanceUID)),
            sop_uid=DicomUID(str(ds.SOPInstanceUID)),
            transfer_syntax=DicomUID(str(ds.file_meta.TransferSyntaxUID)),
            dataset=ds,
        )
        case = CaseId(grant) if case is None else case
        self._items.append(_Stored(grant, case, path, hashlib.sha256(data).digest(), header))
        return header

    def _visible(self, grants: Collection[GrantId]) -> list[_Stored]:
        return [s for s in self._items if s.grant in grants]

    def list_records(self, *, grants: Collection[GrantId]) -> Sequence[RecordInfo]:
        return [
            RecordInfo(
                record_id=RecordId(s.header.sop_uid.encode()),
                case_id=s.case,
                grant_id=s.grant,
                media_type="application/dicom",
                size=s.path.stat().st_size,
                content_hash=s.digest,
            )
            for s in self._visible(grants)
        ]

    def open_record(self, *, grants: Collection[GrantId], record: RecordId) -> BinaryIO:
        for s in self._visible(grants):
            if s.header.sop_uid.encode() == record:
                return self._verified(s)
        raise NotFound("no such record")

    def list_instances(
        self,
        *,
        grants: Collection[GrantId],
        study: DicomUID | None = None,
        series: DicomUID | None = None,
        sop: DicomUID | None = None,
    ) -> Sequence[InstanceHeader]:
        return [
            s.header
            for s in self._visible(grants)
            if (study is None or s.header.study_uid == study)
            and (series is None or s.header.series_uid == series)
            and (sop is None or s.header.sop_uid == sop)
        ]

    def open_instance(
        self, *, grants: Collection[GrantId], study: DicomUID, series: DicomUID, sop: DicomUID
    ) -> BinaryIO:
        for s in self._visible(grants):
            h = s.header
            if (h.study_uid, h.series_uid, h.sop_uid) == (study, series, sop):
                return self._verified(s)
        raise NotFound("no such instance")

    @staticmethod
    def _verified(stored: _Stored) -> BinaryIO:
        data = stored.path.read_bytes()
        if hashlib.sha256(data).digest() != stored.digest:
            raise IntegrityError("stored bytes do not match the anchored commitment")
        return io.BytesIO(data)


@dataclass
class DictAuditSource(AuditSourceAPI):
    """Timelines by case (stands in for the node's chain-event reader)."""

    timelines: dict[CaseId, Timeline] = field(default_factory=dict)

    def case_timeline(self, *, case: CaseId) -> Timeline | None:
        return self.timelines.get(case)
