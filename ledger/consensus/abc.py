"""Interfaces of the consensus core."""

from __future__ import annotations

from abc import ABC, abstractmethod

from ledger.typing import Address


class SignerAPI(ABC):
    """A validator's signing key, injected into the machine so the core never holds keys."""

    @property
    @abstractmethod
    def address(self) -> Address:
        """The 20-byte account address the signatures recover to."""

    @abstractmethod
    def sign(self, digest: bytes) -> bytes:
        """Sign a 32-byte sign-bytes digest; return 65 bytes ``r || s || v`` (v in {0, 1}).

        Must be deterministic (RFC 6979) so that a replayed input sequence yields the same
        outputs, and must never be asked to sign two different messages for the same
        (height, round, kind): the machine guarantees that.
        """
