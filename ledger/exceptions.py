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
