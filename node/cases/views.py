"""What the case services know of our own records (the chain's views are ``contracts.views``)."""

from __future__ import annotations

from dataclasses import dataclass

from node.proof.record import RecordProof


@dataclass(frozen=True, slots=True)
class OwnRecord:
    """One of our records as a grant needs it (from the outbox)."""

    cid: str
    content_hash: bytes
    wrapped_key: bytes
    salt: bytes
    pseudonym: bytes
    #: ``node.anchor.entry.RecordKind`` value (``fhir``, ``prescription``, ``dicom-study``).
    kind: str = "fhir"
    #: The record's batch inclusion proof once the outbox batched it (``None`` while pending).
    proof: RecordProof | None = None
