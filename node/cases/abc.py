"""Interfaces of the case services: the chain side of referrals and grants, own records."""

from __future__ import annotations

from abc import ABC, abstractmethod

from contracts.events import LogEvent as CaseEvent
from contracts.views import AnchoredBatch, GrantView, MemberView, RecordAnchorView, ReferralView
from keys.typing import RecordId
from node.cases.views import OwnRecord
from node.typing import CID


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
    def review_break_glass(self, grant_id: int, *, justified: bool, note_hash: bytes) -> None:
        """``Grants.reviewBreakGlass``: record, once, whether an opening was justified."""

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


class BatchRootsAPI(ABC):
    """Who anchored a Merkle batch root (``Anchors.getBatch``), for the verified read side.

    A caller may back it with a cache of final facts (the gateway's chain view does, and
    satisfies it), so the reader never reads the chain for a root it already saw anchored.
    """

    @abstractmethod
    def batch_anchor(self, *, root: bytes) -> AnchoredBatch | None:
        """The anchor of the batch ``root``; ``None`` if nobody anchored it.

        A final anchor never changes, so implementations may cache found roots for good,
        but must re-read an absent one. Raises if the chain cannot be read.
        """
