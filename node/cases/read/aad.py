"""What each granted ciphertext is bound to: the ingest format's associated data, per part.

Ingest encrypts a record's payload, a study's manifest and each of its instances under the
record's DEK with associated data naming the part, the record and its hash, so a ciphertext
cannot be passed off as another part or another record. The read side rebuilds the same
bytes here, and only here.
"""

from __future__ import annotations

from node.cases.package import PackageRecord
from node.ingest.core import INSTANCE_AD, MANIFEST_AD, PAYLOAD_AD


def payload_aad(record: PackageRecord) -> bytes:
    """A FHIR-kind record's payload: bound to the record id and its content hash."""
    return PAYLOAD_AD + record.record_id + record.content_hash


def manifest_aad(record: PackageRecord) -> bytes:
    """A study's manifest: bound to the record id and the study root."""
    return MANIFEST_AD + record.record_id + record.content_hash


def instance_aad(record: PackageRecord, sha256: bytes) -> bytes:
    """One instance of a study: bound to the record id and the instance's own hash."""
    return INSTANCE_AD + record.record_id + sha256
