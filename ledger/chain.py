"""The ledger: one node's chain on disk, its mempool, block making and reads.

Crash safety: a block is made in memory (py-evm writes into an :class:`OverlayDB`) and
lands on disk in one LMDB write transaction together with its commit seals and log-index
entries. A process killed at any moment restarts at the last block whose transaction
committed, with that block's state, receipts, commit and logs all present, or none of
them. The mempool is memory only: pending transactions are lost on a crash and clients
resubmit (their nonces tell them what was mined).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, cast

from eth.abc import BlockAPI, BlockHeaderAPI, ReceiptAPI, SignedTransactionAPI, StateAPI
from eth.chains.base import Chain
from eth.db.atomic import AtomicDB
from eth.exceptions import BlockNotFound as EvmBlockNotFound
from eth.exceptions import HeaderNotFound
from eth.exceptions import TransactionNotFound as EvmTransactionNotFound
from eth_hash.auto import keccak

from ledger import calls
from ledger.abc import (
    CallRequest,
    Commit,
    IndexedLog,
    LedgerAPI,
    LogFilter,
    NewBlockListener,
    PermissionsAPI,
    TransactionLocation,
)
from ledger.config import Genesis, address_bytes, dump_genesis
from ledger.db import LmdbEnvironment, OverlayDB
from ledger.exceptions import BlockNotFound, LedgerError, StorageError, TransactionNotFound
from ledger.logindex import DB_NAME as LOGS_DB
from ledger.logindex import LogIndex, index_writes
from ledger.mempool import AccountState, Mempool
from ledger.permissions import ContractPermissions, StaticPermissions
from ledger.seal import address_of, decode_commit, encode_commit, sign_precommit
from ledger.typing import Address, BlockNumber, ChainId, Hash32
from ledger.vm import MedledgerVM, chain_class, header_defaults

EVM_DB = "evm"
META_DB = "meta"
_GENESIS_KEY = b"genesis-hash"
_COMMIT_PREFIX = b"commit:"
#: Upper bound on transactions per block, on top of the gas limit (bounds block time).
MAX_TRANSACTIONS_PER_BLOCK = 2_000


def _commit_key(number: int) -> bytes:
    return _COMMIT_PREFIX + number.to_bytes(8, "big")


def genesis_params(genesis: Genesis) -> dict[str, Any]:
    """Header fields of the genesis block.

    extraData is the keccak of the canonical genesis JSON, so the genesis hash commits to
    every consensus parameter (chain id, validators, permissions, interval), and a data dir
    made for one consortium config cannot be opened with another.
    """
    return {
        **header_defaults(),
        "gas_limit": genesis.gas_limit,
        "timestamp": genesis.timestamp,
        "extra_data": keccak(dump_genesis(genesis).encode()),
        "coinbase": b"\x00" * 20,
    }


def genesis_hash(genesis: Genesis) -> Hash32:
    """The hash of the genesis block a ``genesis`` defines (computed in memory)."""
    chain = chain_class(genesis.chain_id).from_genesis(
        AtomicDB(), genesis_params(genesis), genesis.genesis_state()
    )
    return Hash32(chain.get_canonical_head().hash)


class Ledger(LedgerAPI):
    """A node's ledger in ``data_dir``; the producer thread is started separately.

    Parameters
    ----------
    data_dir
        Where LMDB lives; created on first use, refused if made for another genesis or
        opened by another process (``StorageError``).
    genesis
        The consortium genesis.
    validator_key
        This node's 32-byte secp256k1 validator key; required to make blocks (the node
        signs its own precommit, which alone commits when it is the only validator).
    """

    def __init__(
        self,
        data_dir: Path,
        genesis: Genesis,
        *,
        validator_key: bytes | None = None,
        mempool_size: int = 10_000,
        max_nonce_gap: int = 64,
    ) -> None:
        self._genesis = genesis
        self._chain_id = ChainId(genesis.chain_id)
        self._validator_key = validator_key
        self._validators = genesis.validator_addresses()
        if validator_key is not None:
            from coincurve import PrivateKey

            self._coinbase = address_of(PrivateKey(validator_key).public_key)
        else:
            self._coinbase = Address(b"\x00" * 20)
        self._lock = threading.RLock()
        self._listeners: list[NewBlockListener] = []
        self._env = LmdbEnvironment(Path(data_dir))
        try:
            self._overlay = OverlayDB(self._env.store(EVM_DB))
            self._chain_cls = chain_class(genesis.chain_id)
            self._open_or_initialize()
            self._chain: Chain = self._chain_cls(self._overlay)
            self._head: BlockHeaderAPI = self._chain.get_canonical_head()
            self._head_state: StateAPI | None = None
            self._log_index = LogIndex(self._env)
        except BaseException:
            self._env.close()
            raise
        self.permissions: PermissionsAPI = (
            ContractPermissions(address_bytes(genesis.consortium_contract), self._head_call)
            if genesis.consortium_contract is not None
            else StaticPermissions(genesis.permitted_addresses())
        )
        self.mempool = Mempool(
            chain_id=self._chain_id,
            block_gas_limit=genesis.gas_limit,
            max_transaction_size=genesis.max_transaction_size,
            permissions=self.permissions,
            account=self._account,
            is_mined=self._is_mined,
            max_pending=mempool_size,
            max_nonce_gap=max_nonce_gap,
        )
        self._closed = False

    # --- storage lifecycle --------------------------------------------------------

    def _open_or_initialize(self) -> None:
        expected = genesis_hash(self._genesis)
        stored = self._env.get(META_DB, _GENESIS_KEY)
        if stored is not None:
            if stored != expected:
                raise StorageError(
                    f"data dir {self._env.path} belongs to another chain (genesis"
                    f" 0x{stored.hex()}, this genesis is 0x{expected.hex()})"
                )
            return
        self._chain_cls.from_genesis(
            self._overlay, genesis_params(self._genesis), self._genesis.genesis_state()
        )
        self._env.commit({EVM_DB: self._overlay.take_writes(), META_DB: {_GENESIS_KEY: expected}})

    def close(self) -> None:
        with self._lock:
            if self._closed:
                return
            self._closed = True
            self._env.close()

    # --- block making -------------------------------------------------------------

    def _head_call(self, contract: Address, data: bytes) -> bytes:
        with self._lock:
            return calls.call(self._chain, CallRequest(to=contract, data=data), self._head)

    def _account(self, address: Address) -> AccountState:
        with self._lock:
            if self._head_state is None:
                # One read-only state object per head: its account cache serves every
                # admission check until the next block.
                self._head_state = self._chain.get_vm(self._head).state
            state = self._head_state
            return AccountState(nonce=state.get_nonce(address), balance=state.get_balance(address))

    def _is_mined(self, transaction_hash: Hash32) -> bool:
        with self._lock:
            try:
                self._chain.chaindb.get_transaction_index(transaction_hash)
            except EvmTransactionNotFound:
                return False
            return True

    def build_block(
        self, transactions: list[SignedTransactionAPI], *, timestamp: int | None = None
    ) -> tuple[BlockAPI, tuple[ReceiptAPI, ...], tuple[SignedTransactionAPI, ...]]:
        """Execute ``transactions`` on the head state as one block (not yet committed).

        Transactions that are no longer admissible are left out and returned third. The
        block's state is computed once, at the end (py-evm's ``mine_block`` path); it is
        not re-executed when committed. Call :meth:`commit_block` or :meth:`abandon_block`
        next, under the same ``with ledger.lock:``.
        """
        with self._lock:
            parent = self._head
            extra = b""
            if parent.block_number > 0:
                extra = encode_commit(self.get_commit(BlockNumber(parent.block_number)))
            now = int(time.time()) if timestamp is None else timestamp
            header = MedledgerVM.create_header_from_parent(
                parent,
                timestamp=max(now, parent.timestamp),
                extra_data=extra,
                coinbase=self._coinbase,
                **header_defaults(),
            )
            try:
                vm = cast(MedledgerVM, self._chain.get_vm(header))
                base = vm.get_block()
                vm.block_preprocessing(base)
                new_header, included, receipts, skipped = vm.apply_admissible_transactions(
                    transactions, header, is_permitted=self.permissions.is_permitted
                )
                filled = vm.set_block_transactions_and_withdrawals(
                    base, new_header, included, receipts
                )
                block = vm.mine_block(vm.block_postprocessing(filled)).block
            except BaseException:
                self.abandon_block()
                raise
            return block, receipts, skipped

    def abandon_block(self) -> None:
        """Drop a built block's writes and the py-evm caches that may have seen them."""
        with self._lock:
            self._overlay.discard()
            self._chain = self._chain_cls(self._overlay)

    def commit_block(
        self, block: BlockAPI, receipts: tuple[ReceiptAPI, ...], commit: Commit
    ) -> None:
        """Make a built block canonical and durable, with its commit and log index.

        One LMDB transaction holds everything, so a crash leaves all of it or none.
        """
        if commit.height != block.number or commit.block_hash != block.hash:
            raise LedgerError("commit is for another block")
        with self._lock:
            try:
                self._chain.chaindb.persist_block(block)
                logs = index_writes(
                    block_number=block.number,
                    block_hash=block.hash,
                    transactions=[
                        (
                            tx.hash,
                            [
                                (log.address, [t.to_bytes(32, "big") for t in log.topics], log.data)
                                for log in receipt.logs
                            ],
                        )
                        for tx, receipt in zip(block.transactions, receipts, strict=True)
                    ],
                )
                self._env.commit(
                    {
                        EVM_DB: self._overlay.take_writes(),
                        META_DB: {_commit_key(block.number): encode_commit(commit)},
                        LOGS_DB: logs,
                    }
                )
                self._head = block.header
                self._head_state = None
            except BaseException:
                self.abandon_block()
                raise
        self.mempool.remove_included(block.transactions)

    def sign_commit(self, block: BlockAPI, *, round: int = 0) -> Commit:
        """Sign this node's precommit for ``block`` as a one-seal commit (single validator)."""
        if self._validator_key is None:
            raise LedgerError("this node has no validator key; it cannot seal blocks")
        seal = sign_precommit(
            self._validator_key,
            chain_id=self._chain_id,
            height=block.number,
            round=round,
            block_hash=block.hash,
        )
        return Commit(
            height=BlockNumber(block.number),
            round=round,
            block_hash=Hash32(block.hash),
            seals=(seal,),
        )

    def produce_block(
        self, *, timestamp: int | None = None, max_transactions: int = MAX_TRANSACTIONS_PER_BLOCK
    ) -> BlockAPI | None:
        """Make, seal and commit one block from the mempool now; ``None`` if idle.

        The synchronous path used by the producer thread and by tests.
        """
        with self._lock:
            if self._closed:
                raise StorageError("ledger is closed")
            pending = self.mempool.take(self._genesis.gas_limit, max_transactions)
            if not pending:
                return None
            block, receipts, skipped = self.build_block(pending, timestamp=timestamp)
            self.mempool.drop(skipped)
            if not block.transactions:
                self.abandon_block()
                return None
            try:
                commit = self.sign_commit(block)
            except BaseException:
                self.abandon_block()
                raise
            self.commit_block(block, receipts, commit)
            listeners = list(self._listeners)
        for listener in listeners:
            listener(block, receipts)
        return block

    @property
    def lock(self) -> threading.RLock:
        """The lock serializing py-evm access (hold it across build/commit)."""
        return self._lock

    @property
    def block_interval(self) -> float:
        return self._genesis.block_interval_ms / 1000

    # --- LedgerAPI: reads ---------------------------------------------------------

    @property
    def chain_id(self) -> ChainId:
        return self._chain_id

    def head(self) -> BlockHeaderAPI:
        with self._lock:
            return self._head

    def _header_at(self, number: BlockNumber) -> BlockHeaderAPI:
        try:
            return self._chain.get_canonical_block_header_by_number(number)
        except HeaderNotFound as exc:
            raise BlockNotFound(f"no block #{number}") from exc

    def get_block_by_number(self, number: BlockNumber) -> BlockAPI:
        with self._lock:
            return self._chain.get_block_by_header(self._header_at(number))

    def get_block_by_hash(self, block_hash: Hash32) -> BlockAPI:
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

    def _state_at(self, at: BlockNumber):  # type: ignore[no-untyped-def]
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

    def call(self, request: CallRequest, at: BlockNumber) -> bytes:
        with self._lock:
            return calls.call(self._chain, request, self._header_at(at))

    def estimate_gas(self, request: CallRequest, at: BlockNumber) -> int:
        with self._lock:
            return calls.estimate_gas(self._chain, request, self._header_at(at))

    def send_raw_transaction(self, raw_transaction: bytes) -> Hash32:
        return self.mempool.add(raw_transaction)

    def pending_nonce(self, address: Address) -> int:
        return self.mempool.pending_nonce(address)

    def get_commit(self, number: BlockNumber) -> Commit:
        """The commit of block ``number``; genesis is final by definition (no seals)."""
        if number == 0:
            with self._lock:
                header = self._header_at(number)
            return Commit(height=number, round=0, block_hash=Hash32(header.hash), seals=())
        raw = self._env.get(META_DB, _commit_key(number))
        if raw is None:
            raise BlockNotFound(f"no committed block #{number}")
        return decode_commit(raw)

    def validators(self) -> tuple[Address, ...]:
        """The validator set (fixed by genesis for now)."""
        return self._validators

    def subscribe(self, listener: NewBlockListener) -> Callable[[], None]:
        with self._lock:
            self._listeners.append(listener)

        def unsubscribe() -> None:
            with self._lock:
                if listener in self._listeners:
                    self._listeners.remove(listener)

        return unsubscribe
