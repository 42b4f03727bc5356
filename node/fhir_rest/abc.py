"""Interfaces of the FHIR facade: where logical ids meet the node's records."""

from __future__ import annotations

from abc import ABC, abstractmethod

from keys.typing import RecordId


class ResourceIndexAPI(ABC):
    """Maps FHIR ``Type/id`` (and its versions) to record ids, and identifiers to patients.

    Derived, local data: it names no patient in clear (identifiers are kept as keyed hashes)
    and lives next to the outbox, never on chain or in the blob store.
    """

    @abstractmethod
    def current(self, rtype: str, rid: str) -> tuple[int, RecordId] | None:
        """The latest ``(version, record_id)`` of ``Type/id``, or ``None`` if unknown."""

    @abstractmethod
    def version(self, rtype: str, rid: str, version: int) -> RecordId | None:
        """The record of one version of ``Type/id``, or ``None``."""

    @abstractmethod
    def of_type(self, rtype: str) -> list[tuple[str, int, RecordId]]:
        """``(id, current version, record_id)`` of every resource of ``rtype``."""

    @abstractmethod
    def add_version(self, rtype: str, rid: str, record_id: RecordId) -> int:
        """Append ``record_id`` as the next version of ``Type/id``; return its number."""

    @abstractmethod
    def patient_for(self, identifier_key: bytes) -> str | None:
        """The Patient id registered for an identifier's keyed hash, or ``None``."""

    @abstractmethod
    def claim_identifier(self, identifier_key: bytes, patient_id: str) -> str:
        """Register ``patient_id`` for the identifier unless one is; return the registered id."""
