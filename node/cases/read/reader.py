"""The verified reader of received grants: what the gateway serves through, and tests read.

What is cached, and why that is safe: opened packages (keyed by their CID: content
addressed, so immutable), the data keys unwrapped from them, and study manifests once they
rebuilt the anchored study root (keyed by package CID and record), each in a bounded LRU
memo. Bytes are never cached: a blob tampered with after a first read is refused on the
next. The anchor is checked again on every release (the caller's :class:`BatchRootsAPI`
may cache found batch roots: they are final).
"""

from __future__ import annotations

from dataclasses import dataclass

from common.lru import BoundedMemo
from keys.datakey import DataKey
from keys.exceptions import KeysError
from node.blobstore.cid import normalize
from node.cases.abc import BatchRootsAPI
from node.cases.package import MAX_PACKAGE_BYTES, GrantPackage, PackageRecord
from node.cases.read.anchor import check_anchored
from node.cases.read.document import MEDIA_TYPES, STUDY, document_bytes, granted_key
from node.cases.read.study import StudyInstance, instance_bytes, study_instances
from node.cases.sealed import open_package
from node.cases.service import CaseServices
from node.exceptions import GrantNotReceived, GrantPackageError


@dataclass(frozen=True, slots=True)
class ReceivedGrant:
    """One received grant's opened package."""

    grant_id: int
    cid: str
    package: GrantPackage

    @property
    def documents(self) -> tuple[PackageRecord, ...]:
        """The records served as one document each (FHIR resources, prescriptions)."""
        return tuple(r for r in self.package.records if r.kind in MEDIA_TYPES)

    @property
    def studies(self) -> tuple[PackageRecord, ...]:
        """The DICOM study records."""
        return tuple(r for r in self.package.records if r.kind == STUDY)


@dataclass(frozen=True, slots=True)
class VerifiedStudy:
    """A study whose manifest rebuilt its anchored root: its key and its instances."""

    record: PackageRecord
    dek: DataKey
    items: tuple[StudyInstance, ...]


class GrantReader:
    """Records of received grants, verified (anchor and hash) on every release.

    Parameters
    ----------
    services
        The node's case services (grant rows, blob store, keyring, single-record anchors).
    batches
        Who anchored a batch root (the gateway passes its cached chain view).
    """

    def __init__(self, services: CaseServices, *, batches: BatchRootsAPI) -> None:
        self._services = services
        self._batches = batches
        self._packages: BoundedMemo[str, GrantPackage] = BoundedMemo()
        self._keys: BoundedMemo[tuple[str, bytes], DataKey] = BoundedMemo()
        self._studies: BoundedMemo[tuple[str, bytes], VerifiedStudy] = BoundedMemo()

    def received(self, grant_id: int) -> ReceivedGrant:
        """The opened package of a grant we received, read from our own blob store.

        Raises :class:`~node.exceptions.GrantNotReceived` when there is none (yet), and
        another ``NodeError`` when it cannot be read or opened (not replicated, not ours).
        """
        row = self._services.store.grant_row(grant_id)
        if row is None or row["direction"] != "received" or row["package_cid"] is None:
            raise GrantNotReceived(f"no package of grant {grant_id} on this node")
        cid = str(row["package_cid"])
        package = self._packages.get(cid)
        if package is None:
            package = self._packages.put(cid, self._open(cid, grant_id))
        return ReceivedGrant(grant_id, cid, package)

    def _open(self, cid: str, grant_id: int) -> GrantPackage:
        p = self._services
        data = b"".join(p.blobs.get(normalize(cid)))
        if len(data) > MAX_PACKAGE_BYTES:
            raise GrantPackageError("grant package too large")
        try:
            return open_package(data, p.keyring, grant_id=grant_id)
        except KeysError as exc:
            raise GrantPackageError("the grant package does not open with our keys") from exc

    def check_anchored(self, record: PackageRecord, *, grantor: str) -> None:
        """Raise a ``RecordRefused`` unless the grantor's anchor on chain commits to it."""
        check_anchored(record, grantor=grantor, batches=self._batches,
                       records=self._services.chain)  # fmt: skip

    def _data_key(self, grant: ReceivedGrant, record: PackageRecord) -> DataKey:
        key = (grant.cid, bytes(record.record_id))
        dek = self._keys.get(key)
        if dek is None:
            dek = self._keys.put(key, granted_key(self._services.keyring, record))
        return dek

    def document(self, grant: ReceivedGrant, record: PackageRecord) -> bytes:
        """A document record's plaintext: anchor checked, decrypted, re-hashed."""
        self.check_anchored(record, grantor=grant.package.grantor)
        return document_bytes(record, dek=self._data_key(grant, record),
                              blobs=self._services.blobs)  # fmt: skip

    def study(self, grant: ReceivedGrant, record: PackageRecord) -> VerifiedStudy:
        """The study's manifest, its anchor checked now and its tree checked once."""
        self.check_anchored(record, grantor=grant.package.grantor)
        key = (grant.cid, bytes(record.record_id))
        study = self._studies.get(key)
        if study is None:
            p = self._services
            dek, items = study_instances(record, blobs=p.blobs, keyring=p.keyring)
            study = self._studies.put(key, VerifiedStudy(record, dek, tuple(items)))
        return study

    def instance(self, study: VerifiedStudy, item: StudyInstance) -> bytes:
        """One instance's Part 10 bytes, re-hashed against the verified manifest."""
        return instance_bytes(study.record, item, dek=study.dek, blobs=self._services.blobs)
