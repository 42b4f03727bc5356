"""Interfaces of the disclosure package."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass

from gateway.disclosure.entry import Entry, Served


@dataclass(frozen=True, slots=True)
class Filter:
    """Which entries to list (``None``: any); ids as lower-case hex without ``0x``."""

    record: str | None = None
    grant: str | None = None
    physician: str | None = None


@dataclass(frozen=True, slots=True)
class AnchoredHead:
    """One on-chain anchor of a disclosure log head."""

    head: bytes
    count: int
    seq: int
    block: int
    tx: str
    operator: str


class DisclosureLogAPI(ABC):
    """An append-only, hash-chained log of served reads."""

    @abstractmethod
    def append(self, *, physician: str, served: Served, at_ms: int) -> Entry:
        """Chain and durably store one entry; return it. Raises ``LogUnavailable``."""

    @abstractmethod
    def head(self) -> tuple[int, bytes]:
        """``(count, hash of the last entry)``; ``(0, GENESIS)`` when empty."""

    @abstractmethod
    def entries(self, where: Filter | None = None) -> Sequence[Entry]:
        """Entries in order, all or those matching ``where``."""


class HeadAnchorAPI(ABC):
    """Where a log's head goes on chain, and where an auditor reads it back."""

    @abstractmethod
    def anchor(self, *, head: bytes, count: int) -> AnchoredHead:
        """Send the head (the operator's transaction); raises ``AnchorFailed``."""

    @abstractmethod
    def anchored(self) -> Sequence[AnchoredHead]:
        """Every anchored head of this hospital, oldest first."""
