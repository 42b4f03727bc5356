"""Errors of the consensus core; all derive from :class:`ledger.exceptions.LedgerError`."""

from __future__ import annotations

from ledger.exceptions import LedgerError


class ConsensusError(LedgerError):
    """Root of every consensus error."""


class InvalidSignature(ConsensusError):
    """A signature is malformed or was not made by the claimed validator."""


class UnknownSigner(ConsensusError):
    """A message names a signer outside the height's validator set."""


class InvalidMessage(ConsensusError):
    """A proposal or vote is malformed (bad field range, wrong height for this machine)."""
