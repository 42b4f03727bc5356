"""Interfaces of ingest: the cipher, the payload store and the key wrapper it calls.

The real implementations come from other layers (:mod:`node.ingest.adapters` binds them to
keys.stream, keys.envelope and the blob store). Each is small so a stand-in for tests is a
few honest lines, not a mock.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable, Sequence

from node.typing import CID


class PayloadCipherAPI(ABC):
    """Authenticated encryption of one payload under a fresh data key (the keys package)."""

    @abstractmethod
    def new_data_key(self) -> bytes:
        """A fresh random data key (DEK) for one record; never reused across records."""

    @abstractmethod
    def encrypt(self, *, data_key: bytes, plaintext: bytes, associated_data: bytes) -> bytes:
        """Encrypt ``plaintext``; ``associated_data`` (record id, content hash) is bound to it.

        The result is self-describing (format version, nonces, chunking), so it can be
        decrypted from the ciphertext, the DEK and the same associated data alone.
        """


class PayloadStoreAPI(ABC):
    """Where ciphertexts go (the content-addressed blob store, a thin adapter over it)."""

    @abstractmethod
    def put(self, ciphertext: bytes) -> CID:
        """Store and pin ``ciphertext`` and return its CID.

        Storing the same bytes twice is idempotent and returns the same CID.
        """

    def put_many(self, ciphertexts: Sequence[bytes]) -> list[CID]:
        """:meth:`put` for a group, CIDs in order; durable for all of them when it returns.

        Stores that can share one durability barrier across the group override this (group
        commit of small records); the default puts one after the other. All or nothing for
        the caller: if it raises, no CID was returned, so what it stored must not stay
        pinned (the default discards it; an override may leave it to the start-up sweep).
        """
        cids: list[CID] = []
        try:
            for ciphertext in ciphertexts:
                cids.append(self.put(ciphertext))
        except BaseException:
            for cid in cids:  # fresh ciphertexts (random data keys): no record holds them
                self.discard(cid)
            raise
        return cids

    @abstractmethod
    def discard(self, cid: CID) -> None:
        """Best-effort unpin of a ciphertext that no record will reference.

        Called when ingest fails after ``put``; must not raise if the CID is unknown.
        """

    def settle(self, cids: Iterable[CID]) -> None:  # noqa: B027 - optional hook, no-op default
        """Say that ``cids`` are settled: referenced by committed records, or discarded.

        A store that notes every put for crash recovery (to sweep what an interrupted ingest
        stored) may forget them now, so its notes hold only ingests in flight instead of
        every ciphertext since the node started. The default keeps no notes.
        """


class KeyWrapperAPI(ABC):
    """Wraps a data key to this hospital's current encryption key (HPKE, keys package)."""

    @abstractmethod
    def wrap(self, data_key: bytes, *, associated_data: bytes) -> bytes:
        """The DEK encrypted to the hospital's encryption key, bound to ``associated_data``.

        The result names the key version it was wrapped to, so rotation can re-wrap it.
        """

    def for_group(self) -> KeyWrapperAPI:
        """A wrapper for one group of records sealed together (bulk ingest), used then dropped.

        Wrappers that can share their public-key step across a group override this (see
        :mod:`keys.envelope_group`); every key it wraps must unwrap like one from :meth:`wrap`.
        The default is this wrapper itself.
        """
        return self
