"""``LedgerFacade``: a ``LedgerAPI`` that forwards every read and write to a ``Ledger``.

The RPC layer only knows ``LedgerAPI``; a running node is a ``Ledger`` plus whatever
makes its blocks (the producer thread of a single validator, :mod:`ledger.producer`, or
the BFT node of a consortium validator, :mod:`ledger.validator`). Those subclass this
facade and add only their lifetime: start with the ledger, stop before storage closes.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from eth.abc import BlockAPI, BlockHeaderAPI, ReceiptAPI, SignedTransactionAPI

from ledger.abc import (
    CallRequest,
    Commit,
    IndexedLog,
    LedgerAPI,
    LogFilter,
    NewBlockListener,
    TransactionLocation,
)
from ledger.chain import Ledger
from ledger.typing import Address, BlockNumber, ChainId, Hash32


class LedgerFacade(LedgerAPI):
    """Forwards ``LedgerAPI`` to ``inner``; subclasses own what runs beside it."""

    def __init__(self, ledger: Ledger) -> None:
        self.inner = ledger

    @property
    def chain_id(self) -> ChainId:
        return self.inner.chain_id

    def head(self) -> BlockHeaderAPI:
        return self.inner.head()

    def get_block_by_number(self, number: BlockNumber) -> BlockAPI:
        return self.inner.get_block_by_number(number)

    def get_block_by_hash(self, block_hash: Hash32) -> BlockAPI:
        return self.inner.get_block_by_hash(block_hash)

    def get_receipts(self, block: BlockAPI) -> tuple[ReceiptAPI, ...]:
        return self.inner.get_receipts(block)

    def get_transaction(
        self, transaction_hash: Hash32
    ) -> tuple[SignedTransactionAPI, TransactionLocation | None]:
        return self.inner.get_transaction(transaction_hash)

    def get_logs(self, log_filter: LogFilter) -> list[IndexedLog]:
        return self.inner.get_logs(log_filter)

    def get_log_objects(
        self, log_filter: LogFilter, *, limit: int | None = None
    ) -> list[dict[str, Any]]:
        return self.inner.get_log_objects(log_filter, limit=limit)

    def get_balance(self, address: Address, at: BlockNumber) -> int:
        return self.inner.get_balance(address, at)

    def get_code(self, address: Address, at: BlockNumber) -> bytes:
        return self.inner.get_code(address, at)

    def get_nonce(self, address: Address, at: BlockNumber) -> int:
        return self.inner.get_nonce(address, at)

    def get_storage_at(self, address: Address, slot: int, at: BlockNumber) -> int:
        return self.inner.get_storage_at(address, slot, at)

    def call(self, request: CallRequest, at: BlockNumber) -> bytes:
        return self.inner.call(request, at)

    def estimate_gas(self, request: CallRequest, at: BlockNumber) -> int:
        return self.inner.estimate_gas(request, at)

    def send_raw_transaction(self, raw_transaction: bytes) -> Hash32:
        return self.inner.send_raw_transaction(raw_transaction)

    def pending_nonce(self, address: Address) -> int:
        return self.inner.pending_nonce(address)

    def get_commit(self, number: BlockNumber) -> Commit:
        return self.inner.get_commit(number)

    def validators_at(self, height: int) -> tuple[Address, ...]:
        return self.inner.validators_at(height)

    def subscribe(self, listener: NewBlockListener) -> Callable[[], None]:
        return self.inner.subscribe(listener)

    def close(self) -> None:
        self.inner.close()
