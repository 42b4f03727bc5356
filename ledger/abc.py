"""Interfaces of the ledger package.

The JSON-RPC server, the block producer, the consensus driver and the tests meet at these
interfaces. ``LedgerAPI`` is the facade the RPC layer serves: everything a standard Ethereum
JSON-RPC needs, in typed Python values (the RPC layer does hex encoding and validation of
wire formats, the ledger does none of it).

Thread-safety: every ``LedgerAPI`` method may be called from any thread; implementations
serialize access to py-evm internally (py-evm objects are not thread-safe).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from eth.abc import (
    AtomicDatabaseAPI,
    BlockAPI,
    BlockHeaderAPI,
    ReceiptAPI,
    SignedTransactionAPI,
)

from ledger.typing import Address, BlockNumber, ChainId, Hash32


@dataclass(frozen=True, slots=True)
class LogFilter:
    """An ``eth_getLogs`` query after tag resolution: an inclusive block range.

    ``topics[i]`` is ``None`` (any value at position i) or a tuple of alternatives (OR).
    An empty ``addresses`` tuple means any address.
    """

    from_block: BlockNumber
    to_block: BlockNumber
    addresses: tuple[Address, ...] = ()
    topics: tuple[tuple[Hash32, ...] | None, ...] = ()


@dataclass(frozen=True, slots=True)
class IndexedLog:
    """One log as ``eth_getLogs`` returns it; ``log_index`` counts within the block."""

    address: Address
    topics: tuple[Hash32, ...]
    data: bytes
    block_number: BlockNumber
    block_hash: Hash32
    transaction_hash: Hash32
    transaction_index: int
    log_index: int


@dataclass(frozen=True, slots=True)
class TransactionLocation:
    """Where a mined transaction is: block and position."""

    block_number: BlockNumber
    block_hash: Hash32
    index: int


@dataclass(frozen=True, slots=True)
class CallRequest:
    """The parameters of ``eth_call`` / ``eth_estimateGas`` after decoding."""

    to: Address | None
    sender: Address | None = None
    data: bytes = b""
    value: int = 0
    gas: int | None = None
    gas_price: int | None = None


@dataclass(frozen=True, slots=True)
class CommitSeal:
    """A validator's signature over a block's commit (its precommit for the block hash)."""

    validator: Address
    signature: bytes  # 65 bytes, r || s || v (v in {0, 1})


@dataclass(frozen=True, slots=True)
class Commit:
    """Proof that a block is final: seals from more than 2/3 of the voting power."""

    height: BlockNumber
    round: int
    block_hash: Hash32
    seals: tuple[CommitSeal, ...]


NewBlockListener = Callable[[BlockAPI, Sequence[ReceiptAPI]], None]


class KeyValueStoreAPI(AtomicDatabaseAPI):
    """A crash-safe on-disk key-value store that py-evm can use as its database.

    ``atomic_batch()`` commits all its writes durably or none of them: a process killed at
    any moment leaves the store as it was after the last completed batch.
    """

    @abstractmethod
    def close(self) -> None:
        """Flush and release the store; further use raises ``StorageError``."""


class PermissionsAPI(ABC):
    """Who may send transactions to the chain."""

    @abstractmethod
    def is_permitted(self, address: Address) -> bool:
        """Whether ``address`` may send transactions now (checked in mempool and in blocks)."""


class MempoolAPI(ABC):
    """Validated pending transactions waiting for a block."""

    @abstractmethod
    def add(self, raw_transaction: bytes) -> Hash32:
        """Validate and queue a signed raw transaction; return its hash.

        Raises ``TransactionRejected`` with a reason code on any validation failure.
        """

    @abstractmethod
    def take(self, max_gas: int, max_count: int) -> list[SignedTransactionAPI]:
        """Return executable transactions (by sender, nonce order) for the next block.

        They stay pending until ``remove_included`` is called for a committed block.
        """

    @abstractmethod
    def remove_included(self, transactions: Iterable[SignedTransactionAPI]) -> None:
        """Drop transactions a committed block included, and any made stale by it."""

    @abstractmethod
    def pending_nonce(self, address: Address) -> int:
        """The next nonce ``address`` should use, counting its pending transactions."""

    @abstractmethod
    def get(self, transaction_hash: Hash32) -> SignedTransactionAPI | None:
        """A pending transaction by hash, if queued."""

    @abstractmethod
    def __len__(self) -> int:
        """How many transactions are pending."""


class LedgerAPI(ABC):
    """One node's view of the chain: reads, calls, transaction submission, new-block events."""

    @property
    @abstractmethod
    def chain_id(self) -> ChainId:
        """The chain id from genesis (EIP-155)."""

    @abstractmethod
    def head(self) -> BlockHeaderAPI:
        """The header of the latest committed (final) block."""

    @abstractmethod
    def get_block_by_number(self, number: BlockNumber) -> BlockAPI:
        """A committed block; raises ``BlockNotFound``."""

    @abstractmethod
    def get_block_by_hash(self, block_hash: Hash32) -> BlockAPI:
        """A committed block; raises ``BlockNotFound``."""

    @abstractmethod
    def get_receipts(self, block: BlockAPI) -> tuple[ReceiptAPI, ...]:
        """The receipts of a committed block, in transaction order."""

    @abstractmethod
    def get_transaction(
        self, transaction_hash: Hash32
    ) -> tuple[SignedTransactionAPI, TransactionLocation | None]:
        """A transaction by hash: mined (with its location) or pending (location ``None``).

        Raises ``TransactionNotFound``.
        """

    @abstractmethod
    def get_logs(self, log_filter: LogFilter) -> list[IndexedLog]:
        """Logs matching the filter, from an index (never a scan of every block)."""

    @abstractmethod
    def get_log_objects(
        self, log_filter: LogFilter, *, limit: int | None = None
    ) -> list[dict[str, Any]]:
        """The logs of :meth:`get_logs` as ``eth_getLogs`` JSON objects (0x-hex fields).

        The index stores them encoded, so the RPC answers without decoding every field
        to bytes and formatting it back. With ``limit``, at most ``limit + 1`` are
        returned (enough to refuse an over-limit query without decoding the rest).
        """

    @abstractmethod
    def get_balance(self, address: Address, at: BlockNumber) -> int:
        """Balance in wei at the state after block ``at``."""

    @abstractmethod
    def get_code(self, address: Address, at: BlockNumber) -> bytes:
        """Contract code at the state after block ``at``."""

    @abstractmethod
    def get_nonce(self, address: Address, at: BlockNumber) -> int:
        """Account nonce at the state after block ``at`` (pending: see ``MempoolAPI``)."""

    @abstractmethod
    def get_storage_at(self, address: Address, slot: int, at: BlockNumber) -> int:
        """A storage slot at the state after block ``at``."""

    @abstractmethod
    def call(self, request: CallRequest, at: BlockNumber) -> bytes:
        """Execute a read-only call on the state after block ``at``; return its output.

        Raises ``ExecutionReverted`` (with revert data) or ``ExecutionFailed``.
        """

    @abstractmethod
    def estimate_gas(self, request: CallRequest, at: BlockNumber) -> int:
        """The gas the call needs to succeed; raises like ``call``."""

    @abstractmethod
    def send_raw_transaction(self, raw_transaction: bytes) -> Hash32:
        """Queue a signed transaction for a coming block; raises ``TransactionRejected``."""

    @abstractmethod
    def pending_nonce(self, address: Address) -> int:
        """Next nonce for ``address`` including its pending transactions."""

    @abstractmethod
    def get_commit(self, number: BlockNumber) -> Commit:
        """The commit seals proving block ``number`` final; raises ``BlockNotFound``."""

    @abstractmethod
    def subscribe(self, listener: NewBlockListener) -> Callable[[], None]:
        """Call ``listener(block, receipts)`` after each committed block; return unsubscribe.

        Listeners run on the committing thread and must not block.
        """

    @abstractmethod
    def close(self) -> None:
        """Stop producing blocks and close storage cleanly."""
