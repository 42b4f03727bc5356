"""Errors of the ledger package; every one derives from :class:`LedgerError`."""

from __future__ import annotations


class LedgerError(Exception):
    """Root of every error raised by the ledger package."""


class ConfigError(LedgerError):
    """A consortium/genesis or node configuration is invalid."""


class StorageError(LedgerError):
    """The on-disk database is unusable (corrupt, locked by another process, wrong chain)."""


class BlockNotFound(LedgerError):
    """No block with that number or hash is known."""


class TransactionNotFound(LedgerError):
    """No transaction (or receipt) with that hash is known."""


class TransactionRejected(LedgerError):
    """The mempool refused a transaction; ``reason`` is a stable machine-readable code.

    Reasons: ``malformed``, ``bad-signature``, ``wrong-chain-id``, ``nonce-too-low``,
    ``nonce-too-high``, ``oversize``, ``not-permitted``, ``intrinsic-gas``,
    ``gas-limit-exceeded``, ``insufficient-funds``, ``already-known``, ``mempool-full``,
    ``unsupported-type``.
    """

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message


class ExecutionReverted(LedgerError):
    """A call or gas estimate reverted; ``data`` is the raw revert data (may be empty)."""

    def __init__(self, data: bytes, message: str = "execution reverted") -> None:
        super().__init__(message)
        self.data = data
        self.message = message


class ExecutionFailed(LedgerError):
    """A call failed for a reason other than a revert (out of gas, invalid opcode...)."""


class SealError(LedgerError):
    """A commit (set of commit seals) does not prove its block final."""


class MalformedCommit(SealError):
    """The commit bytes do not decode to the commit format (version 1)."""


class CommitMismatch(SealError):
    """The commit is for another height or block hash than the one being checked."""


class UnknownValidator(SealError):
    """A seal is signed by an address outside the validator set."""


class DuplicateSeal(SealError):
    """Two seals of the same validator: voting power would be counted twice."""


class InvalidSeal(SealError):
    """A seal's signature does not recover to its validator for this chain/height/round/hash."""


class InsufficientVotingPower(SealError):
    """The valid seals hold 2/3 of the voting power or less."""
