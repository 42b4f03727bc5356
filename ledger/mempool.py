"""Pending transactions: validated once on the way in, handed out in nonce order.

Admission checks, cheapest first, each failure a ``TransactionRejected`` with a stable
reason code. The sender is recovered once (py-evm caches ``transaction.sender``) and the
decoded transaction object is what the block producer executes, so a transaction's
signature is recovered once per node, not once per use.

Locking: the pool's lock is never held while calling out (permission checks may go
through the ledger, whose lock the block producer holds while it calls ``take``), so the
two locks cannot deadlock. State reads (nonce, balance, "already mined?") read the
committed head without the ledger's lock, so admission runs while a block is being made;
a transaction that a just-committed block made stale is left out by the block builder
and forgotten by the next ``take``.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import rlp
from eth.abc import SignedTransactionAPI
from eth.exceptions import UnrecognizedTransactionType
from eth.vm.forks.cancun.constants import BLOB_TX_TYPE
from eth.vm.forks.prague.constants import SET_CODE_TRANSACTION_TYPE
from eth.vm.forks.prague.transactions import PragueTransactionBuilder
from eth_keys.exceptions import BadSignature
from eth_utils.exceptions import ValidationError

from ledger.abc import MempoolAPI, PermissionsAPI
from ledger.exceptions import TransactionRejected
from ledger.typing import Address, ChainId, Hash32

UNSUPPORTED_TYPES = frozenset({BLOB_TX_TYPE, SET_CODE_TRANSACTION_TYPE})
SECP256K1_N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141


@dataclass(frozen=True, slots=True)
class AccountState:
    """What admission needs to know of a sender on the head state."""

    nonce: int
    balance: int


AccountReader = Callable[[Address], AccountState]
KnownCheck = Callable[[Hash32], bool]


class Mempool(MempoolAPI):
    """A bounded pool keyed by hash and by (sender, nonce)."""

    def __init__(
        self,
        *,
        chain_id: ChainId,
        block_gas_limit: int,
        max_transaction_size: int,
        permissions: PermissionsAPI,
        account: AccountReader,
        is_mined: KnownCheck,
        max_pending: int = 10_000,
        max_nonce_gap: int = 64,
    ) -> None:
        self._chain_id = chain_id
        self._block_gas_limit = block_gas_limit
        self._max_size = max_transaction_size
        self._permissions = permissions
        self._account = account
        self._is_mined = is_mined
        self._max_pending = max_pending
        self._max_gap = max_nonce_gap
        self._lock = threading.Lock()
        self._by_hash: dict[Hash32, SignedTransactionAPI] = {}
        # sender -> nonce -> transaction; dict order = arrival order of senders.
        self._by_sender: dict[Address, dict[int, SignedTransactionAPI]] = {}

    # --- admission ----------------------------------------------------------------

    def _decode(self, raw: bytes) -> SignedTransactionAPI:
        if len(raw) > self._max_size:
            raise TransactionRejected(
                "oversize", f"transaction is {len(raw)} bytes, limit {self._max_size}"
            )
        if not raw:
            raise TransactionRejected("malformed", "empty transaction")
        if raw[0] in UNSUPPORTED_TYPES:
            raise TransactionRejected(
                "unsupported-type", f"transaction type {raw[0]} is not accepted on this chain"
            )
        try:
            transaction: SignedTransactionAPI = PragueTransactionBuilder.decode(raw)
        except (
            rlp.DecodingError,
            rlp.DeserializationError,
            ValidationError,
            UnrecognizedTransactionType,  # an EIP-2718 type byte no fork defines
        ) as exc:
            raise TransactionRejected("malformed", f"cannot decode transaction: {exc}") from exc
        except (ValueError, KeyError, IndexError, TypeError) as exc:
            raise TransactionRejected("malformed", f"cannot decode transaction: {exc}") from exc
        return transaction

    def _check_stateless(self, transaction: SignedTransactionAPI) -> Address:
        # Range checks first, then a single recovery (py-evm's check_signature_validity
        # would recover the key and verify it again, and ``sender`` would recover a third
        # time): the recovered sender is cached on the transaction for the block producer.
        if not (
            transaction.y_parity in (0, 1)
            and 0 < transaction.r < SECP256K1_N
            and 0 < transaction.s <= SECP256K1_N // 2
        ):
            raise TransactionRejected(
                "bad-signature", "signature values out of range (r, s, y-parity; EIP-2 low s)"
            )
        try:
            sender: Address = transaction.sender
        except (BadSignature, ValidationError, ValueError) as exc:
            raise TransactionRejected("bad-signature", f"invalid signature: {exc}") from exc
        if transaction.chain_id != self._chain_id:
            raise TransactionRejected(
                "wrong-chain-id",
                f"transaction chain id {transaction.chain_id} is not {self._chain_id}"
                " (legacy transactions must be EIP-155 signed)",
            )
        if transaction.gas > self._block_gas_limit:
            raise TransactionRejected(
                "gas-limit-exceeded",
                f"gas {transaction.gas} exceeds the block gas limit {self._block_gas_limit}",
            )
        if transaction.gas < transaction.intrinsic_gas:
            raise TransactionRejected(
                "intrinsic-gas",
                f"gas {transaction.gas} is below the intrinsic gas {transaction.intrinsic_gas}",
            )
        try:
            transaction.validate()
        except ValidationError as exc:
            raise TransactionRejected("malformed", f"invalid transaction: {exc}") from exc
        return sender

    def add(self, raw_transaction: bytes) -> Hash32:
        transaction = self._decode(raw_transaction)
        tx_hash = Hash32(transaction.hash)
        if tx_hash in self._by_hash or self._is_mined(tx_hash):
            raise TransactionRejected("already-known", "transaction is already known")
        sender = self._check_stateless(transaction)
        if not self._permissions.is_permitted(sender):
            raise TransactionRejected(
                "not-permitted", f"sender 0x{sender.hex()} may not send transactions"
            )
        account = self._account(sender)
        if transaction.nonce < account.nonce:
            raise TransactionRejected(
                "nonce-too-low", f"nonce {transaction.nonce} < account nonce {account.nonce}"
            )
        max_fee = getattr(transaction, "max_fee_per_gas", None)
        fee_per_gas = transaction.gas_price if max_fee is None else max_fee
        cost = transaction.value + transaction.gas * fee_per_gas
        if cost > account.balance:
            raise TransactionRejected(
                "insufficient-funds",
                f"value + gas * fee = {cost} exceeds the balance {account.balance}",
            )
        with self._lock:
            if tx_hash in self._by_hash:
                raise TransactionRejected("already-known", "transaction is already known")
            queued = self._by_sender.setdefault(sender, {})
            if transaction.nonce in queued:
                raise TransactionRejected(
                    "already-known",
                    f"a pending transaction of this sender already uses nonce {transaction.nonce}",
                )
            # the gap counts from the end of the sender's consecutive pending run, so a
            # sender may queue a long sequence but not park transactions far ahead of it
            expected = account.nonce
            while expected in queued:
                expected += 1
            if transaction.nonce > expected + self._max_gap:
                if not queued:
                    del self._by_sender[sender]
                raise TransactionRejected(
                    "nonce-too-high",
                    f"nonce {transaction.nonce} is more than {self._max_gap} ahead of the"
                    f" sender's next nonce {expected}",
                )
            if len(self._by_hash) >= self._max_pending:
                if not queued:
                    del self._by_sender[sender]
                raise TransactionRejected(
                    "mempool-full", f"the pool holds {self._max_pending} transactions"
                )
            queued[transaction.nonce] = transaction
            self._by_hash[tx_hash] = transaction
        return tx_hash

    # --- block production ---------------------------------------------------------

    def take(self, max_gas: int, max_count: int) -> list[SignedTransactionAPI]:
        with self._lock:
            snapshot = {sender: dict(queued) for sender, queued in self._by_sender.items()}
        nonces = {sender: self._account(sender).nonce for sender in snapshot}
        # admission reads a committed head without waiting for the producer, so a
        # transaction checked against the head before a block can land after that block
        # made its nonce stale; it can never be taken, so it is forgotten here
        stale = [
            tx
            for sender, queued in snapshot.items()
            for n, tx in queued.items()
            if n < nonces[sender]
        ]
        if stale:
            self.drop(stale)
        chosen: list[SignedTransactionAPI] = []
        gas = 0
        # Round-robin over senders so one busy sender cannot fill every block.
        cursors = dict(nonces)
        active = list(snapshot)
        while active and len(chosen) < max_count:
            still: list[Address] = []
            for sender in active:
                transaction = snapshot[sender].get(cursors[sender])
                if transaction is None or gas + transaction.gas > max_gas:
                    continue
                chosen.append(transaction)
                gas += transaction.gas
                cursors[sender] += 1
                still.append(sender)
                if len(chosen) >= max_count:
                    break
            active = still
        return chosen

    def remove_included(self, transactions: Iterable[SignedTransactionAPI]) -> None:
        # A sender's account nonce after the block is one past its highest included nonce
        # (nonces are consecutive), so stale entries are pruned without reading state.
        next_nonce: dict[Address, int] = {}
        with self._lock:
            for transaction in transactions:
                sender: Address = transaction.sender
                if self._by_hash.pop(Hash32(transaction.hash), None) is not None:
                    self._by_sender.get(sender, {}).pop(transaction.nonce, None)
                next_nonce[sender] = max(next_nonce.get(sender, 0), transaction.nonce + 1)
            for sender, nonce in next_nonce.items():
                queued = self._by_sender.get(sender)
                if queued is None:
                    continue
                for stale in [n for n in queued if n < nonce]:
                    self._by_hash.pop(Hash32(queued.pop(stale).hash), None)
                if not queued:
                    del self._by_sender[sender]

    def drop(self, transactions: Iterable[SignedTransactionAPI]) -> None:
        """Forget transactions a block could not include (they became invalid)."""
        with self._lock:
            for transaction in transactions:
                if self._by_hash.pop(Hash32(transaction.hash), None) is not None:
                    queued = self._by_sender.get(transaction.sender, {})
                    queued.pop(transaction.nonce, None)
                    if not queued:
                        self._by_sender.pop(transaction.sender, None)

    # --- reads --------------------------------------------------------------------

    def pending_nonce(self, address: Address) -> int:
        nonce = self._account(address).nonce
        with self._lock:
            queued = self._by_sender.get(address, {})
            while nonce in queued:
                nonce += 1
        return nonce

    def get(self, transaction_hash: Hash32) -> SignedTransactionAPI | None:
        with self._lock:
            return self._by_hash.get(transaction_hash)

    def __len__(self) -> int:
        with self._lock:
            return len(self._by_hash)
