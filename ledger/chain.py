"""The ledger: one node's chain on disk, its mempool, block making and reads.

Crash safety: a block is made in memory (py-evm writes into an :class:`OverlayDB`) and
lands on disk in one LMDB write transaction together with its commit seals and log-index
entries. A process killed at any moment restarts at the last block whose transaction
committed, with that block's state, receipts, commit and logs all present, or none of
them. The mempool is memory only: pending transactions are lost on a crash and clients
resubmit (their nonces tell them what was mined).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import cast

from coincurve import PrivateKey
from eth._utils.rlp import validate_imported_block_unchanged
from eth.abc import BlockAPI, BlockHeaderAPI, ReceiptAPI, SignedTransactionAPI
from eth.chains.base import Chain
from eth.db.chain import ChainDB
from eth.exceptions import TransactionNotFound as EvmTransactionNotFound

from ledger import calls
from ledger.abc import CallRequest, Commit, NewBlockListener, PermissionsAPI
from ledger.config import Genesis, address_bytes
from ledger.consensus import ConsensusError, KeySigner
from ledger.db import LmdbEnvironment, OverlayDB
from ledger.exceptions import ConfigError, LedgerError, SealError, StorageError
from ledger.executions import ExecutionLog
from ledger.genesis import genesis_hash, genesis_params
from ledger.logindex import DB_NAME as LOGS_DB
from ledger.logindex import LogIndex, index_writes
from ledger.mempool import AccountState, Mempool
from ledger.permissions import ContractPermissions, StaticPermissions
from ledger.reads import ChainReads, CommittedHead
from ledger.schema import EVM_DB, GENESIS_KEY, META_DB, commit_key
from ledger.seal import decode_commit, encode_commit, verify_commit
from ledger.solo import commit_alone
from ledger.typing import Address, BlockNumber, ChainId, Hash32
from ledger.validator_sets import (
    HISTORY_KEY,
    ConsortiumValidators,
    Members,
    ValidatorHistory,
    ValidatorSets,
)
from ledger.vm import MedledgerVM, call_chain_class, chain_class, header_defaults

log = logging.getLogger(__name__)

#: Upper bound on transactions per block, on top of the gas limit (bounds block time).
MAX_TRANSACTIONS_PER_BLOCK = 2_000


def _validator_identity(
    genesis: Genesis, validator_key: bytes | None
) -> tuple[KeySigner | None, Address]:
    """The signer of this node's votes and its coinbase (zero address without a key)."""
    if validator_key is None:
        return None, Address(b"\x00" * 20)
    try:
        PrivateKey(validator_key)  # stricter than KeySigner's check (zero, >= n)
        signer = KeySigner(validator_key)
    except (ValueError, TypeError, ConsensusError) as exc:
        raise ConfigError("validator key must be a valid 32-byte secp256k1 key") from exc
    # Under a Consortium a member may validate later (admission, validator flag).
    if genesis.consortium_contract is None and signer.address not in genesis.validator_addresses():
        raise ConfigError(f"validator key is for 0x{signer.address.hex()}, not a genesis validator")
    return signer, signer.address


class Ledger(ChainReads):
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
        self._signer, self._coinbase = _validator_identity(genesis, validator_key)
        self._lock = threading.RLock()
        #: executions and re-executions of blocks (each block must be executed once)
        self.executions = ExecutionLog()
        self._listeners: list[NewBlockListener] = []
        self._recent: dict[int, BlockAPI] = {}
        self._recent_by_hash: dict[bytes, BlockAPI] = {}
        self._transaction_hooks: list[Callable[[], None]] = []
        self._env = LmdbEnvironment(Path(data_dir))
        try:
            self._open_storage()
        except BaseException:
            self._env.close()
            raise
        self._sets = ValidatorSets(self._history.at)
        self.permissions = self._permissions()
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

    def _open_storage(self) -> None:
        """The chain, its committed view, log index and validator history (env open)."""
        genesis = self._genesis
        self._overlay = OverlayDB(self._env.store(EVM_DB))
        self._chain_cls = chain_class(genesis.chain_id)
        self._open_or_initialize()
        self._chain: Chain = self._chain_cls(self._overlay)
        self._head: BlockHeaderAPI = self._chain.get_canonical_head()
        # committed data only (never the overlay a block is being built in): the
        # lock-free reads of admission
        self._committed_store = self._env.store(EVM_DB)
        self._committed_chaindb = ChainDB(self._committed_store)
        self._committed_chain: Chain = self._chain_cls(self._committed_store)
        self._committed_head = CommittedHead(self._committed_store, self._head)
        call_chain = call_chain_class(genesis.chain_id)
        store = self._committed_store
        self.calls = calls.CallRunner(lambda: call_chain(store))
        self._log_index = LogIndex(self._env)
        self._governance = (
            ConsortiumValidators(
                address_bytes(genesis.consortium_contract), self._overlay, self._contract_call
            )
            if genesis.consortium_contract is not None
            else None
        )
        self._history = self._load_history()

    def _permissions(self) -> PermissionsAPI:
        contract = self._genesis.consortium_contract
        if contract is None:
            return StaticPermissions(self._genesis.permitted_addresses())
        return ContractPermissions(
            address_bytes(contract), self._head_call, lambda: bytes(self._head.hash)
        )

    # --- storage lifecycle --------------------------------------------------------

    def _open_or_initialize(self) -> None:
        expected = genesis_hash(self._genesis)
        stored = self._env.get(META_DB, GENESIS_KEY)
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
        self._env.commit({EVM_DB: self._overlay.take_writes(), META_DB: {GENESIS_KEY: expected}})

    def _load_history(self) -> ValidatorHistory:
        """Genesis validators and the stored change points (see ``ledger.validator_sets``).

        Under a ``Consortium`` the genesis list must be the contract's ``validators()`` on
        the genesis state, so that the file and the contract cannot disagree silently.
        """
        listed = self._genesis.validator_addresses()
        if self._governance is not None:
            genesis_header = self._chain.get_canonical_block_header_by_number(BlockNumber(0))
            try:
                on_chain = self._governance.read(genesis_header)
            except LedgerError:
                # a permissions-only contract (the test stand-in): the genesis list stays,
                # as every later unreadable answer leaves the set unchanged
                log.warning("consortium contract has no validators(); genesis validators stay")
                on_chain = listed
            if set(on_chain) != set(listed):
                raise ConfigError(
                    "genesis validators differ from the Consortium's validators() at genesis: "
                    + ", ".join("0x" + a.hex() for a in on_chain)
                )
        return ValidatorHistory.decode(listed, self._env.get(META_DB, HISTORY_KEY))

    def _contract_call(self, header: BlockHeaderAPI, data: bytes) -> bytes:
        assert self._genesis.consortium_contract is not None
        to = address_bytes(self._genesis.consortium_contract)
        return calls.call(self._chain, CallRequest(to=to, data=data), header)

    def validators_at(self, height: int) -> Members:
        """The validators whose precommits finalize block ``height`` (known up to head + 1)."""
        return self._history.at(height)

    def validator_changes(self) -> list[tuple[int, Members]]:
        """``(height, validators)`` from genesis on: each set and the height it starts at."""
        return self._history.points()

    def close(self) -> None:
        with self._lock:
            if self._closed:
                return
            self._closed = True
            self._env.close()

    # --- block making -------------------------------------------------------------

    def _head_call(self, contract: Address, data: bytes) -> tuple[bytes, bytes]:
        # no ledger lock: the head's state is committed and read straight from LMDB (never
        # the overlay a block is being built in), so admission's permission check does not
        # wait for the block producer
        head = self._head
        request = CallRequest(to=contract, data=data)
        return head.hash, calls.call(self._committed_chain, request, head)

    def _account(self, address: Address) -> AccountState:
        # no ledger lock: admission must not wait for the block being built
        return self._committed_head.account(address)

    def _is_mined(self, transaction_hash: Hash32) -> bool:
        try:
            self._committed_chaindb.get_transaction_index(transaction_hash)
        except EvmTransactionNotFound:
            return False
        return True

    def build_block(
        self, transactions: list[SignedTransactionAPI], *, timestamp: int | None = None
    ) -> tuple[BlockAPI, tuple[ReceiptAPI, ...], tuple[SignedTransactionAPI, ...]]:
        """Execute ``transactions`` on the head state as one block (not yet committed).

        Transactions that are no longer admissible are left out and returned third. The
        block's state root is computed once, at the end (py-evm's ``mine_block`` path:
        pack, finalize), and the block is not re-executed when committed. Call
        :meth:`commit_block` or :meth:`abandon_block` next, under the same
        ``with ledger.lock:``.
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
                # py-evm's mine_block = pack + finalize + validate_block; the last would
                # rebuild the transaction trie we just built, so only the header is checked.
                packed = vm.pack_block(vm.block_postprocessing(filled))
                block = vm.finalize_block(packed).block
                vm.validate_header(block.header, parent)
            except BaseException:
                self.abandon_block()
                raise
            self.executions.note(block.hash, number=block.number, how="build_block")
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
                self._write_block(block, receipts, commit)
            except BaseException:
                self.abandon_block()
                raise
        self.mempool.remove_included(block.transactions)

    def import_block(self, block: BlockAPI, commit: Commit) -> tuple[ReceiptAPI, ...]:
        """Verify and append a block made by another validator (block sync, consensus).

        Nothing is trusted: the commit must prove the block final for the current validator
        set, the block must extend our head, its extraData must carry a valid commit of its
        parent, every sender must be permitted on our head state, and py-evm re-executes
        the block and checks every root (``Chain.import_block``). The block is then written
        like our own: one LMDB transaction with its commit and log index.

        Raises ``SealError`` subclasses for a bad commit, ``LedgerError`` otherwise.
        """
        verify_commit(
            commit,
            self._history.at(block.number),
            self._chain_id,
            height=block.number,
            block_hash=block.hash,
        )
        with self._lock:
            self._check_candidate(block)
            try:
                imported = self._chain.import_block(block).imported_block
                self.executions.note(block.hash, number=block.number, how="import_block")
                receipts = tuple(imported.get_receipts(self._chain.chaindb))
                self._write_block(imported, receipts, commit)
            except BaseException:
                self.abandon_block()
                raise
            listeners = list(self._listeners)
        self.mempool.remove_included(block.transactions)
        self._notify(listeners, imported, receipts)
        return receipts

    def _check_candidate(self, block: BlockAPI) -> None:
        """The checks of :meth:`import_block` that precede execution (lock held)."""
        if block.header.parent_hash != self._head.hash:
            raise LedgerError(
                f"block #{block.number} does not extend our head #{self._head.block_number}"
            )
        if block.number > 1:
            verify_commit(
                decode_commit(block.header.extra_data),
                self._history.at(self._head.block_number),
                self._chain_id,
                height=self._head.block_number,
                block_hash=self._head.hash,
            )
        for transaction in block.transactions:
            if not self.permissions.is_permitted(transaction.sender):
                raise LedgerError(
                    f"block #{block.number} has a transaction from a sender that is not permitted"
                )

    def execute_block(self, block: BlockAPI) -> tuple[BlockAPI, tuple[ReceiptAPI, ...]]:
        """Validate a proposed block by executing it on the head state, without committing.

        The consensus validity predicate: everything :meth:`import_block` checks except the
        block's own commit (it has none yet). py-evm writes the new state's trie nodes into
        the overlay (content-addressed, harmless if the block is never decided); nothing
        becomes canonical. Keep the returned pair and pass it to :meth:`commit_executed` on
        decision, so a block is executed once per node. Raises ``LedgerError`` (or a
        ``SealError`` for a bad parent commit) when the block is invalid.
        """
        with self._lock:
            self._check_candidate(block)
            try:
                parent = self._chain.get_block_header_by_hash(block.header.parent_hash)
                base = self._chain.create_header_from_parent(parent)
                vm = self._chain.get_vm(base.copy(gas_used=block.header.gas_used))
                imported = vm.import_block(block).block
                self.executions.note(block.hash, number=block.number, how="execute_block")
                validate_imported_block_unchanged(imported, block)
                self._chain.validate_block(imported)
                receipts = tuple(imported.get_receipts(self._chain.chaindb))
            except LedgerError:
                raise
            except Exception as exc:  # py-evm raises many kinds for an invalid block
                raise LedgerError(f"block #{block.number} is invalid: {exc}") from exc
            return imported, receipts

    def commit_executed(
        self, block: BlockAPI, receipts: tuple[ReceiptAPI, ...], commit: Commit
    ) -> None:
        """Commit a block from :meth:`execute_block` or :meth:`build_block` and notify.

        The commit is verified against the validator set first: a decision's precommits.
        """
        verify_commit(
            commit,
            self._history.at(block.number),
            self._chain_id,
            height=block.number,
            block_hash=block.hash,
        )
        with self._lock:
            if block.header.parent_hash != self._head.hash:
                raise LedgerError(f"block #{block.number} no longer extends our head")
            self.commit_block(block, receipts, commit)
            listeners = list(self._listeners)
        self._notify(listeners, block, receipts)

    def _write_block(
        self, block: BlockAPI, receipts: tuple[ReceiptAPI, ...], commit: Commit
    ) -> None:
        """Commit the overlay (block already persisted in it) with commit and log index."""
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
        meta: dict[bytes, bytes | None] = {commit_key(block.number): encode_commit(commit)}
        change = None
        if self._governance is not None:
            change = self._governance.change_after(
                block.header, self._head, self._history.at(block.number)
            )
        if change is not None:
            meta[HISTORY_KEY] = self._history.encoded_with(block.number + 1, change)
        self._env.commit({EVM_DB: self._overlay.take_writes(), META_DB: meta, LOGS_DB: logs})
        self._remember(block)
        if change is not None:
            self._history.add(block.number + 1, change)
            log.info(
                "validator set from block #%d: %s",
                block.number + 1,
                ", ".join("0x" + a.hex() for a in change),
            )
        self._head = block.header
        self._committed_head = CommittedHead(self._committed_store, block.header)

    @staticmethod
    def _notify(
        listeners: list[NewBlockListener], block: BlockAPI, receipts: tuple[ReceiptAPI, ...]
    ) -> None:
        # One failing listener (a closed websocket, a bug) must not starve the others or
        # make a committed block look failed to the producer.
        for listener in listeners:
            try:
                listener(block, receipts)
            except Exception:
                log.exception("new-block listener failed")

    def send_raw_transaction(self, raw_transaction: bytes) -> Hash32:
        tx_hash = self.mempool.add(raw_transaction)
        for hook in list(self._transaction_hooks):
            hook()
        return tx_hash

    def on_transaction(self, hook: Callable[[], None]) -> Callable[[], None]:
        """Call ``hook()`` after each admitted transaction (the producer's wake-up)."""
        with self._lock:
            self._transaction_hooks.append(hook)

        def remove() -> None:
            with self._lock:
                if hook in self._transaction_hooks:
                    self._transaction_hooks.remove(hook)

        return remove

    def sign_commit(self, block: BlockAPI) -> Commit:
        """Decide ``block`` by consensus alone: its one-seal commit (:mod:`ledger.solo`).

        Raises ``InsufficientVotingPower`` (a ``SealError``) when this validator alone is
        no quorum of the block's validator set.
        """
        if self._signer is None:
            raise LedgerError("this node has no validator key; it cannot seal blocks")
        return commit_alone(
            block,
            chain_id=self._chain_id,
            validators=self._sets.at(block.number),
            signer=self._signer,
        )

    def produce_block(
        self, *, timestamp: int | None = None, max_transactions: int = MAX_TRANSACTIONS_PER_BLOCK
    ) -> BlockAPI | None:
        """Make, decide alone and commit one block from the mempool now; ``None`` if idle.

        The synchronous path used by the producer thread and by tests. The block is built
        first, so an all-skipped build is dropped instead of proposed (no empty blocks).
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
                # a lone producer keeps going only while it alone is the validator set
                commit = self.sign_commit(block)
            except SealError as exc:
                self.abandon_block()
                raise LedgerError(
                    f"block #{block.number} needs the validator set's precommits"
                    f" ({len(self._history.at(block.number))} validators): {exc}"
                ) from exc
            except BaseException:
                self.abandon_block()
                raise
            self.commit_block(block, receipts, commit)
            listeners = list(self._listeners)
        self._notify(listeners, block, receipts)
        return block

    @property
    def lock(self) -> threading.RLock:
        """The lock serializing py-evm access (hold it across build/commit)."""
        return self._lock

    @property
    def gas_limit(self) -> int:
        return self._genesis.gas_limit

    @property
    def block_interval(self) -> float:
        return self._genesis.block_interval_ms / 1000
