"""Read a case granted to us from our own node (after the follower replicated it)."""

from __future__ import annotations

from node.blobstore.cid import normalize
from node.cases.crypto import open_record
from node.cases.package import MAX_PACKAGE_BYTES, GrantPackage, PackageRecord
from node.cases.sealed import open_package
from node.cases.service import CaseServices
from node.exceptions import CaseError
from node.proof.commitment import anchor_commitment


def granted_package(*, services: CaseServices, grant_id: int) -> GrantPackage:
    """The package of a grant we received, read from our own blob store."""
    row = services.store.grant_row(grant_id)
    if row is None or row["direction"] != "received" or row["package_cid"] is None:
        raise CaseError(f"no package of grant {grant_id} on this node")
    data = b"".join(services.blobs.get(normalize(row["package_cid"])))
    if len(data) > MAX_PACKAGE_BYTES:
        raise CaseError("grant package too large")
    return open_package(data, services.keyring, grant_id=grant_id)


def check_anchor(*, services: CaseServices, record: PackageRecord, grantor: str) -> bool:
    """Whether the record's anchor on chain is the grantor's and commits to this content hash.

    The commitment is recomputed from the package's salt and pseudonym (single-record
    anchors; a batch-anchored record is checked with its proof by the gateway instead).
    """
    anchor = services.chain.record_anchor(record.record_id)
    if anchor is None or anchor.hospital != grantor:
        return False
    expected = anchor_commitment(
        salt=record.salt,
        record_id=record.record_id,
        pseudonym=record.pseudonym,
        content_hash=record.content_hash,
    )
    return anchor.commitment == expected


def read_granted_records(*, services: CaseServices, grant_id: int) -> dict[bytes, bytes]:
    """Every record of a granted case, decrypted and re-hashed against its content hash.

    Uses our local copies only: it works with the grantor's node offline.
    """
    package = granted_package(services=services, grant_id=grant_id)
    return {
        r.record_id: open_record(
            store=services.blobs,
            keyring=services.keyring,
            cid=r.cid,
            record_id=r.record_id,
            content_hash=r.content_hash,
            wrapped_key=r.wrapped_key,
        )
        for r in package.records
    }
