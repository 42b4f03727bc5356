"""Interfaces of the node package.

The ingest/anchoring interfaces below are what the pure building blocks (``node.ingest.core``,
``node.anchor.drain``) call; the real implementations come from other layers: the keys package
(cipher, key wrapping), the blob store, and the chain client (anchor sink). Each is small
so a stand-in for tests is a few honest lines, not a mock.

A blob store holds ciphertext addressed by CID. Two backends implement :class:`BlobStoreAPI`
(the embedded on-disk store and a Kubo RPC client) and both pass one shared test suite
(``tests/node/blob_suite.py``), so the node never depends on which one it runs with.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator, Sequence

from contracts.events import LogEvent as CaseEvent
from contracts.views import GrantView, MemberView, RecordAnchorView, ReferralView
from keys.typing import RecordId
from node.anchor.entry import OutboxBatch as BatchAnchor
from node.cases.views import OwnRecord
from node.proof.record import AnchorInfo
from node.typing import CID, MerkleHash, TxHash

# --- ingest: encrypt, store, wrap ----------------------------------------------------------


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


# --- anchoring: the chain side -------------------------------------------------------------


class AnchorSinkAPI(ABC):
    """The chain as the outbox sees it (the chain client implements it with ``Anchors``).

    Expected implementation: ``submit`` stores ``batch.commitments`` as the batch manifest in
    the blob store and sends ``Anchors.anchorBatch(root, count, manifestCid)``; ``lookup``
    reads the ``BatchAnchored`` event whose indexed ``root`` matches (``eth_getLogs``), which
    gives both the block and the transaction hash.

    Exactly-once anchoring rests on two properties of the implementation:

    - ``lookup`` only reports a root that is in a final block (BFT finality: no reorgs);
    - the contract refuses a root that is already anchored (``BatchAlreadyAnchored``), so the
      re-``submit`` that follows a crash between "transaction sent" and "transaction noted"
      can never anchor a root twice, even when ``lookup`` did not see the first one yet.
    """

    @abstractmethod
    def submit(self, batch: BatchAnchor) -> TxHash:
        """Send one transaction anchoring ``batch.root`` and return its hash.

        Does not wait for inclusion. Raises a ``NodeError`` subclass if the transaction
        cannot be sent.
        """

    @abstractmethod
    def lookup(self, root: MerkleHash) -> AnchorInfo | None:
        """Where ``root`` is anchored (transaction and block), or ``None``.

        ``None`` means not in a final block (yet). Read-only; any node's RPC can answer it.
        """


# --- blob store ----------------------------------------------------------------------------


class BlobStoreAPI(ABC):
    """A content-addressed, pinning blob store whose CIDs equal Kubo's for the same bytes."""

    @abstractmethod
    def put(self, source: Iterable[bytes], *, pin: bool = True) -> CID:
        """Store the bytes of ``source`` and return their CID.

        ``source`` is consumed once, chunk by chunk, in constant memory; chunk boundaries of
        the source do not matter (the store re-chunks to the profile's chunk size), so the
        same bytes always give the same CID. Pinned by default, as ``ipfs add`` does, so a
        garbage collection right after cannot remove the new blob.
        """

    def put_many(self, payloads: Sequence[bytes], *, pin: bool = True) -> list[CID]:
        """:meth:`put` for a group of small payloads held in memory; CIDs in order.

        Every payload is durable (and pinned) when this returns. Backends that can share one
        durability barrier across the group override this; the default puts one by one.
        """
        return [self.put([p], pin=pin) for p in payloads]

    @abstractmethod
    def get(self, cid: CID) -> Iterator[bytes]:
        """Stream the blob's bytes, verifying every block's hash before releasing its bytes.

        Raises :class:`~node.exceptions.BlobNotFound` when a block is missing and
        :class:`~node.exceptions.CorruptedBlock` when a block does not match its CID (both may
        surface mid-stream: bytes of earlier, verified blocks were already yielded).
        """

    @abstractmethod
    def block(self, cid: CID) -> bytes:
        """The raw bytes of one block (root or child), verified against ``cid``.

        What a peer serves on ``GET /blocks/{cid}`` so another node can replicate a blob
        block by block (the fetcher re-verifies: CIDs are self-verifying). Raises
        :class:`~node.exceptions.BlobNotFound` / :class:`~node.exceptions.CorruptedBlock`.
        """

    @abstractmethod
    def has(self, cid: CID) -> bool:
        """Whether the root block of ``cid`` is in the store (children are not walked)."""

    @abstractmethod
    def size(self, cid: CID) -> int:
        """Size in bytes of the blob's content (not of its DAG), read from the root block."""

    @abstractmethod
    def pin(self, cid: CID) -> None:
        """Protect ``cid`` and every block under it from garbage collection (idempotent)."""

    @abstractmethod
    def unpin(self, cid: CID) -> None:
        """Remove the pin on ``cid``; raises :class:`~node.exceptions.BlobNotFound` if none."""

    @abstractmethod
    def pins(self) -> set[CID]:
        """The CIDs pinned directly (recursively protected roots)."""

    @abstractmethod
    def gc(self) -> int:
        """Delete every block not reachable from a pin; return how many were deleted."""


# --- referrals and grants: the chain side --------------------------------------------------


class CaseChainAPI(ABC):
    """The ``Referrals``, ``Grants`` and ``Consortium`` calls the case services make.

    Implemented with web3.py by :class:`node.cases.chain.Web3CaseChain`; meant to be folded
    into the node's chain client. Writes wait for the receipt (BFT finality: a receipt is
    final) and raise :class:`~node.exceptions.ChainRefused` naming the contract's custom
    error when a rule is violated.
    """

    @property
    @abstractmethod
    def address(self) -> str:
        """The hospital's account (the sender of every write)."""

    @property
    @abstractmethod
    def chain_id(self) -> int:
        """The chain id (bound into access tokens)."""

    @property
    @abstractmethod
    def grants_address(self) -> str:
        """The ``Grants`` contract (bound into access tokens)."""

    @abstractmethod
    def head(self) -> int:
        """The latest (final) block number."""

    @abstractmethod
    def events(self, from_block: int, to_block: int) -> list[CaseEvent]:
        """Decoded ``Referrals``/``Grants`` logs in ``[from_block, to_block]``, in chain order."""

    @abstractmethod
    def refer(self, *, case_id: bytes, target: str, reason_code: int, expires_at: int) -> int:
        """``Referrals.initiate``; returns the new referral id."""

    @abstractmethod
    def accept(self, referral_id: int) -> None:
        """``Referrals.accept`` (as the referral's target)."""

    @abstractmethod
    def decline(self, referral_id: int, *, reason_code: int) -> None:
        """``Referrals.decline`` (as the referral's target)."""

    @abstractmethod
    def complete(self, referral_id: int) -> None:
        """``Referrals.complete`` (as the referral's target)."""

    @abstractmethod
    def refer_back(self, referral_id: int, *, reason_code: int, expires_at: int) -> int:
        """``Referrals.referBack``; returns the new (downward) referral id."""

    @abstractmethod
    def issue_grant(self, *, referral_id: int, grantee: str, physician: str | None,
                    scope_root: bytes, expires_at: int, max_uses: int) -> int:  # fmt: skip
        """``Grants.issue``; returns the new grant id."""

    @abstractmethod
    def revoke_grant(self, grant_id: int) -> None:
        """``Grants.revoke`` (as the grantor)."""

    @abstractmethod
    def referral(self, referral_id: int) -> ReferralView:
        """The referral's current state (status ``NONE`` when unknown)."""

    @abstractmethod
    def grant(self, grant_id: int) -> GrantView:
        """The grant's current state (grantor zero address when unknown)."""

    @abstractmethod
    def record_anchor(self, record_id: bytes) -> RecordAnchorView | None:
        """The record's single-record anchor (``Anchors.getRecord``), or ``None``."""

    @abstractmethod
    def member(self, address: str) -> MemberView:
        """A member's public facts (tier, encryption key and version, endpoint)."""


class RecordSourceAPI(ABC):
    """The node's own records as a grant needs them (the outbox implements it)."""

    @abstractmethod
    def record(self, record_id: RecordId) -> OwnRecord:
        """CID, content hash, wrapped DEK, salt and pseudonym of one of our records.

        Raises :class:`~node.exceptions.UnknownRecord` when the record is not ours.
        """

    @abstractmethod
    def replace_key(self, record_id: RecordId, *, cid: CID, wrapped_key: bytes) -> None:
        """Point the record at a re-encrypted ciphertext and its new wrapped DEK (re-key)."""

    @abstractmethod
    def shred_key(self, record_id: RecordId) -> None:
        """Destroy the record's wrapped DEK for good (crypto-shredding); the entry stays."""
