"""Assemble a running node's ledger: ``ledger.chain.Ledger`` plus its block producer.

The RPC layer only knows ``LedgerAPI``; :class:`ProducingLedger` ties the producer thread's
lifetime to the ledger's: it starts with it and is stopped before storage closes. (The
producer wakes itself on each admitted transaction through ``Ledger.on_transaction``.)
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
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
from ledger.config import load_genesis
from ledger.p2p.config import P2PSettings
from ledger.producer import BlockProducer
from ledger.typing import Address, BlockNumber, ChainId, Hash32


class ProducingLedger(LedgerAPI):
    """A ``Ledger`` whose block producer runs while it is open."""

    def __init__(self, ledger: Ledger) -> None:
        self.inner = ledger
        self.producer = BlockProducer(ledger)
        self.producer.start()

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
        self.producer.stop()
        self.inner.close()


def open_ledger(
    *, genesis: Path, data_dir: Path, validator_key: bytes, p2p: P2PSettings | None = None
) -> ProducingLedger:
    """Open (or create) the chain in ``data_dir`` and start producing blocks.

    With ``p2p`` settings and more than one genesis validator, blocks come from consensus
    with the other validators instead (:class:`ledger.validator.ValidatorNode`).

    Raises ``ConfigError`` for a bad genesis and ``StorageError`` for a data dir that belongs
    to another chain or is locked by another process.
    """
    config = load_genesis(genesis)
    ledger = Ledger(data_dir, config, validator_key=validator_key)
    if p2p is None or len(config.validators) == 1:
        return ProducingLedger(ledger)
    from ledger.validator import ValidatorNode  # imports this module: import here

    try:
        return ValidatorNode(ledger, key=validator_key, settings=p2p, data_dir=Path(data_dir))
    except BaseException:
        ledger.close()  # idempotent
        raise
