"""Errors of the p2p layer; every one is a :class:`P2PError` (a ``LedgerError``)."""

from __future__ import annotations

from ledger.exceptions import LedgerError


class P2PError(LedgerError):
    """Root of p2p errors: the peer is disconnected (and retried later with backoff)."""


class HandshakeRefused(P2PError):
    """The other end is not a configured peer, is on another chain, or proved no key."""


class FrameError(P2PError):
    """A frame is oversize, malformed, badly signed or replayed."""


class CounterExhausted(FrameError):
    """A direction of a link sealed its last frame: the link is closed and redialed."""
