"""Errors of the contracts package: one root, subclassed per failure."""

from __future__ import annotations


class ContractsError(Exception):
    """Root of every error raised by the contracts package."""


class CompilerError(ContractsError):
    """The Solidity compiler is missing or rejected the sources."""


class ArtifactError(ContractsError):
    """A committed artifact is missing or malformed."""


class ChainError(ContractsError):
    """Root of chain client failures (RPC unreachable, transaction refused or reverted)."""


class ChainUnavailable(ChainError):
    """The chain's JSON-RPC endpoint did not answer, or answered something unreadable."""


class TransactionRefused(ChainError):
    """The chain refused to take a transaction (bad nonce, read-only client, ...)."""


class TransactionTimeout(ChainError):
    """No receipt arrived in time (the transaction may still land)."""


class TransactionFailed(ChainError):
    """A transaction reverted; ``error`` is the decoded custom error when there is one."""

    def __init__(self, message: str, *, error: str | None = None, args: tuple[object, ...] = ()):
        super().__init__(message)
        self.error = error
        self.error_args = args
