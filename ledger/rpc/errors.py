"""JSON-RPC 2.0 error objects.

Every failure that reaches a client is one of these, carrying a stable ``code``, a short
``message`` and, where a client can act on it, ``data``. Codes follow JSON-RPC 2.0 and, for
Ethereum-specific failures, what geth answers (web3.py keys its exceptions on them: code 3 with
hex revert data becomes ``ContractLogicError``/``ContractCustomError``).
"""

from __future__ import annotations

from typing import Any

from ledger.exceptions import LedgerError

PARSE_ERROR = -32700
INVALID_REQUEST = -32600
METHOD_NOT_FOUND = -32601
INVALID_PARAMS = -32602
INTERNAL_ERROR = -32603
EXECUTION_REVERTED = 3
SERVER_ERROR = -32000  # geth's catch-all for execution failures
RESOURCE_NOT_FOUND = -32001
TRANSACTION_REJECTED = -32003
LIMIT_EXCEEDED = -32005


class RPCError(LedgerError):
    """An error to be sent to the client as a JSON-RPC error object."""

    code: int = INTERNAL_ERROR

    def __init__(self, message: str, data: Any = None) -> None:
        super().__init__(message)
        self.message = message
        self.data = data

    def to_json(self) -> dict[str, Any]:
        """The ``error`` member of a response."""
        error: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.data is not None:
            error["data"] = self.data
        return error


class ParseError(RPCError):
    code = PARSE_ERROR


class InvalidRequest(RPCError):
    code = INVALID_REQUEST


class MethodNotFound(RPCError):
    code = METHOD_NOT_FOUND


class InvalidParams(RPCError):
    code = INVALID_PARAMS


class InternalError(RPCError):
    code = INTERNAL_ERROR


class ExecutionRevertedError(RPCError):
    """A call reverted; ``data`` is the revert data as 0x-hex, as geth sends it."""

    code = EXECUTION_REVERTED


class ExecutionFailedError(RPCError):
    code = SERVER_ERROR


class ResourceNotFound(RPCError):
    code = RESOURCE_NOT_FOUND


class TransactionRejectedError(RPCError):
    """The mempool refused a transaction; ``data`` is its stable reason code."""

    code = TRANSACTION_REJECTED


class LimitExceeded(RPCError):
    code = LIMIT_EXCEEDED
