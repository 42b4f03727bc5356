"""The read side of the ledger facade: blocks, transactions, state, calls, logs, commits.

A mixin over the fields :class:`ledger.chain.Ledger` owns; reads through py-evm's chain take
the ledger's lock because py-evm objects are not thread-safe. Admission's reads (a sender's
nonce and balance, "is this hash mined?") go to :class:`CommittedHead` instead, which reads
committed LMDB data only and so never waits for the block producer.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from eth.abc import BlockAPI, BlockHeaderAPI, ReceiptAPI, SignedTransactionAPI, StateAPI
from eth.chains.base import Chain
from eth.db.account import AccountDB
from eth.db.chain import ChainDB
from eth.exceptions import BlockNotFound as EvmBlockNotFound
from eth.exceptions import HeaderNotFound
from eth.exceptions import TransactionNotFound as EvmTransactionNotFound

from ledger import calls
from ledger.abc import (
    CallRequest,
    Commit,
    IndexedLog,
    LedgerAPI,
    LogFilter,
    NewBlockListener,
    TransactionLocation,
)
from ledger.db import LmdbEnvironment, LmdbStore
from ledger.exceptions import BlockNotFound, TransactionNotFound
from ledger.logindex import LogIndex
from ledger.mempool import AccountState, Mempool
from ledger.schema import META_DB, commit_key
from ledger.seal import decode_commit
from ledger.typing import Address, BlockNumber, ChainId, Hash32
from ledger.validator_sets import ValidatorHistory


class CommittedHead:
    """Account reads on one committed head, straight from LMDB, without the ledger lock.

    The block producer holds the ledger lock for a whole build and commit; admission
    (``eth_sendRawTransaction``) must not wait for it, or submissions stall while a block
    is made and blocks stay small. The ledger publishes a new ``CommittedHead`` (one
    attribute assignment) right after each block's LMDB transaction commits, so readers see
    the head before or after a block, never a half-built one: state is read from the
    committed store by the head's state root (trie nodes are content-addressed, so the
    nodes a later block adds cannot change what this root resolves to). Its small lock
    only serializes admission threads on the one py-evm ``AccountDB`` (not thread-safe),
    whose cache then serves every check of a sender until the next block.

    A read from a head that is one block old can admit a transaction whose nonce was just
    used; the block builder re-checks every transaction and leaves such ones out.
    """

    __slots__ = ("_accounts", "_lock", "header")

    def __init__(self, store: LmdbStore, header: BlockHeaderAPI) -> None:
        self.header = header
        self._accounts = AccountDB(store, header.state_root)
        self._lock = threading.Lock()

    def account(self, address: Address) -> AccountState:
        with self._lock:
            return AccountState(
                nonce=self._accounts.get_nonce(address),
                balance=self._accounts.get_balance(address),
            )


#: Committed blocks kept decoded in memory: clients that follow the chain (``newHeads``
#: then ``eth_getBlockByNumber``) read the newest blocks, which then cost no LMDB reads,
#: no trie walks and no transaction decoding, and do not wait for the block producer.
RECENT_BLOCKS = 64


class ChainReads(LedgerAPI):
    """Reads of ``LedgerAPI``; the owner sets the attributes declared here."""

    _lock: threading.RLock
    _chain: Chain
    _head: BlockHeaderAPI
    _env: LmdbEnvironment
    _log_index: LogIndex
    _chain_id: ChainId
    _history: ValidatorHistory
    _listeners: list[NewBlockListener]
    _recent: dict[int, BlockAPI]
    _recent_by_hash: dict[bytes, BlockAPI]
    _committed_chaindb: ChainDB
    mempool: Mempool
    #: clients' calls (``eth_call``, ``eth_estimateGas``), bounded; see ``ledger.calls``
    calls: calls.CallRunner

    def _remember(self, block: BlockAPI) -> None:
        """Keep a just-committed block among the recent ones (the writer calls this)."""
        self._recent[block.number] = block
        self._recent_by_hash[block.hash] = block
        old = self._recent.pop(block.number - RECENT_BLOCKS, None)
        if old is not None:
            self._recent_by_hash.pop(old.hash, None)

    @property
    def chain_id(self) -> ChainId:
        return self._chain_id

    def head(self) -> BlockHeaderAPI:
        # no lock: the attribute is replaced (atomically) only after its block committed,
        # so the RPC answers the head without waiting for the block being built
        return self._head

    def _header_at(self, number: BlockNumber) -> BlockHeaderAPI:
        try:
            return self._chain.get_canonical_block_header_by_number(number)
        except HeaderNotFound as exc:
            raise BlockNotFound(f"no block #{number}") from exc

    def get_block_by_number(self, number: BlockNumber) -> BlockAPI:
        recent = self._recent.get(number)
        if recent is not None:
            return recent
        with self._lock:
            return self._chain.get_block_by_header(self._header_at(number))

    def get_block_by_hash(self, block_hash: Hash32) -> BlockAPI:
        recent = self._recent_by_hash.get(block_hash)
        if recent is not None:
            return recent
        with self._lock:
            try:
                block = self._chain.get_block_by_hash(block_hash)
            except (HeaderNotFound, EvmBlockNotFound) as exc:
                raise BlockNotFound(f"no block 0x{block_hash.hex()}") from exc
            canonical = self._chain.chaindb.get_canonical_block_hash(block.number)
            if canonical != block_hash:
                raise BlockNotFound(f"block 0x{block_hash.hex()} is not committed")
            return block

    def get_receipts(self, block: BlockAPI) -> tuple[ReceiptAPI, ...]:
        with self._lock:
            return tuple(block.get_receipts(self._chain.chaindb))

    def get_transaction(
        self, transaction_hash: Hash32
    ) -> tuple[SignedTransactionAPI, TransactionLocation | None]:
        with self._lock:
            try:
                number, index = self._chain.chaindb.get_transaction_index(transaction_hash)
            except EvmTransactionNotFound:
                pending = self.mempool.get(transaction_hash)
                if pending is None:
                    raise TransactionNotFound(
                        f"no transaction 0x{transaction_hash.hex()}"
                    ) from None
                return pending, None
            block = self._chain.get_canonical_block_by_number(number)
            location = TransactionLocation(
                block_number=BlockNumber(number), block_hash=Hash32(block.hash), index=index
            )
            return block.transactions[index], location

    def get_logs(self, log_filter: LogFilter) -> list[IndexedLog]:
        return self._log_index.get_logs(log_filter)

    def get_log_objects(
        self, log_filter: LogFilter, *, limit: int | None = None
    ) -> list[dict[str, Any]]:
        return self._log_index.get_log_objects(log_filter, limit=limit)

    def _state_at(self, at: BlockNumber) -> StateAPI:
        return self._chain.get_vm(self._header_at(at)).state

    def get_balance(self, address: Address, at: BlockNumber) -> int:
        with self._lock:
            return int(self._state_at(at).get_balance(address))

    def get_code(self, address: Address, at: BlockNumber) -> bytes:
        with self._lock:
            return bytes(self._state_at(at).get_code(address))

    def get_nonce(self, address: Address, at: BlockNumber) -> int:
        with self._lock:
            return int(self._state_at(at).get_nonce(address))

    def get_storage_at(self, address: Address, slot: int, at: BlockNumber) -> int:
        with self._lock:
            return int(self._state_at(at).get_storage(address, slot))

    def _committed_header(self, number: BlockNumber) -> BlockHeaderAPI:
        # no ledger lock: committed LMDB data only (the recent blocks or the store)
        recent = self._recent.get(number)
        if recent is not None:
            return recent.header
        try:
            return self._committed_chaindb.get_canonical_block_header_by_number(number)
        except HeaderNotFound as exc:
            raise BlockNotFound(f"no block #{number}") from exc

    def call(self, request: CallRequest, at: BlockNumber) -> bytes:
        # never under the ledger lock: a client's call must not hold up block making
        return self.calls.call(request, self._committed_header(at))

    def estimate_gas(self, request: CallRequest, at: BlockNumber) -> int:
        return self.calls.estimate_gas(request, self._committed_header(at))

    def pending_nonce(self, address: Address) -> int:
        return self.mempool.pending_nonce(address)

    def get_commit(self, number: BlockNumber) -> Commit:
        """The commit of block ``number``; genesis is final by definition (no seals)."""
        if number == 0:
            with self._lock:
                header = self._header_at(number)
            return Commit(height=number, round=0, block_hash=Hash32(header.hash), seals=())
        raw = self._env.get(META_DB, commit_key(number))
        if raw is None:
            raise BlockNotFound(f"no committed block #{number}")
        return decode_commit(raw)

    def validators(self) -> tuple[Address, ...]:
        """The validators of the next height (head + 1); see ``ledger.validator_sets``."""
        with self._lock:
            return self._history.at(self._head.block_number + 1)

    def subscribe(self, listener: NewBlockListener) -> Callable[[], None]:
        with self._lock:
            self._listeners.append(listener)

        def unsubscribe() -> None:
            with self._lock:
                if listener in self._listeners:
                    self._listeners.remove(listener)

        return unsubscribe
