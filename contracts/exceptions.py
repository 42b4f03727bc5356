"""Errors of the contracts package: one root, subclassed per failure."""

from __future__ import annotations


class ContractsError(Exception):
    """Root of every error raised by the contracts package."""


class CompilerError(ContractsError):
    """The Solidity compiler is missing or rejected the sources."""


class ArtifactError(ContractsError):
    """A committed artifact is missing or malformed."""


class TransactionFailed(ContractsError):
    """A transaction reverted; ``error`` is the decoded custom error when there is one."""

    def __init__(self, message: str, *, error: str | None = None, args: tuple[object, ...] = ()):
        super().__init__(message)
        self.error = error
        self.error_args = args
