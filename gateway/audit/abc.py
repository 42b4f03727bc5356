"""Interfaces of the audit trail: what the auditor API and the CLI need from the chain."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from gateway.audit.model import Trace
    from node.proof.record import RecordProof


class AuditTrailAPI(ABC):
    """Traces rebuilt from chain events, plus who may read them (read-only, no plaintext)."""

    @abstractmethod
    def trace_record(
        self, *, record: bytes, proof: RecordProof | None = None, check_ciphertext: bool = False
    ) -> Trace:
        """The record's anchors (version chain or batch) and its case's story.

        ``check_ciphertext`` streams every anchored CID through the blob store (each block
        re-hashed); ``UnknownSubject`` if the chain never saw the record.
        """

    @abstractmethod
    def trace_case(self, *, case: bytes, check_ciphertext: bool = False) -> Trace:
        """Every event about ``case``; ``UnknownSubject`` if none."""

    @abstractmethod
    def trace_grant(self, *, grant: int, check_ciphertext: bool = False) -> Trace:
        """A grant's issue or break-glass, redemptions, revocation and referral states."""

    @abstractmethod
    def is_auditor(self, address: str) -> bool:
        """Whether ``Consortium`` lists ``address`` as an auditor at the latest block.

        Asked at sign-in and on every request, so a removed auditor is refused at once.
        """
