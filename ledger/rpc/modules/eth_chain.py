"""``eth_`` methods that read blocks, transactions and receipts."""

from __future__ import annotations

from eth.abc import BlockAPI

from ledger.abc import LedgerAPI, TransactionLocation
from ledger.exceptions import BlockNotFound, TransactionNotFound
from ledger.rpc import params as p
from ledger.rpc.format import Json, format_block, format_receipt, format_transaction
from ledger.rpc.hexcodec import to_data, to_quantity
from ledger.rpc.registry import RPCModule, rpc_method
from ledger.rpc.resolve import resolve_number
from ledger.typing import BlockNumber, Hash32

BLOCK = p.Param("block", p.block_ref)
FULL = p.Param("full_transactions", p.boolean, default=False)
BLOCK_HASH = p.Param("block_hash", p.hash32)
TX_HASH = p.Param("transaction_hash", p.hash32)
INDEX = p.Param("index", p.small_quantity)


class EthChain(RPCModule):
    name = "eth"

    def __init__(self, ledger: LedgerAPI) -> None:
        self.ledger = ledger

    def _block_by_ref(self, ref: p.BlockRef) -> BlockAPI | None:
        try:
            if ref.block_hash is not None:
                return self.ledger.get_block_by_hash(ref.block_hash)
            number = resolve_number(self.ledger, ref)
            return self.ledger.get_block_by_number(number)
        except BlockNotFound:
            return None

    def _block_by_hash(self, block_hash: Hash32) -> BlockAPI | None:
        try:
            return self.ledger.get_block_by_hash(block_hash)
        except BlockNotFound:
            return None

    @rpc_method("chainId")
    def chain_id(self) -> str:
        return to_quantity(self.ledger.chain_id)

    @rpc_method("blockNumber")
    def block_number(self) -> str:
        return to_quantity(self.ledger.head().block_number)

    @rpc_method("getBlockByNumber", BLOCK, FULL)
    def get_block_by_number(self, ref: p.BlockRef, full: bool) -> Json | None:
        block = self._block_by_ref(ref)
        return None if block is None else format_block(block, full_transactions=full)

    @rpc_method("getBlockByHash", BLOCK_HASH, FULL)
    def get_block_by_hash(self, block_hash: Hash32, full: bool) -> Json | None:
        block = self._block_by_hash(block_hash)
        return None if block is None else format_block(block, full_transactions=full)

    @rpc_method("getBlockTransactionCountByNumber", BLOCK)
    def count_by_number(self, ref: p.BlockRef) -> str | None:
        block = self._block_by_ref(ref)
        return None if block is None else to_quantity(len(block.transactions))

    @rpc_method("getBlockTransactionCountByHash", BLOCK_HASH)
    def count_by_hash(self, block_hash: Hash32) -> str | None:
        block = self._block_by_hash(block_hash)
        return None if block is None else to_quantity(len(block.transactions))

    @rpc_method("getUncleCountByBlockNumber", BLOCK)
    def uncle_count_by_number(self, ref: p.BlockRef) -> str | None:
        return None if self._block_by_ref(ref) is None else "0x0"

    @rpc_method("getUncleCountByBlockHash", BLOCK_HASH)
    def uncle_count_by_hash(self, block_hash: Hash32) -> str | None:
        return None if self._block_by_hash(block_hash) is None else "0x0"

    @rpc_method("getUncleByBlockNumberAndIndex", BLOCK, INDEX)
    def uncle_by_number(self, ref: p.BlockRef, index: int) -> None:
        return None  # BFT blocks have no uncles

    @rpc_method("getUncleByBlockHashAndIndex", BLOCK_HASH, INDEX)
    def uncle_by_hash(self, block_hash: Hash32, index: int) -> None:
        return None

    def _tx_in_block(self, block: BlockAPI | None, index: int) -> Json | None:
        if block is None or index >= len(block.transactions):
            return None
        header = block.header
        location = TransactionLocation(
            block_number=BlockNumber(header.block_number), block_hash=header.hash, index=index
        )
        return format_transaction(
            block.transactions[index],
            location,
            base_fee=getattr(header, "base_fee_per_gas", None),
        )

    @rpc_method("getTransactionByBlockNumberAndIndex", BLOCK, INDEX)
    def tx_by_number_and_index(self, ref: p.BlockRef, index: int) -> Json | None:
        return self._tx_in_block(self._block_by_ref(ref), index)

    @rpc_method("getTransactionByBlockHashAndIndex", BLOCK_HASH, INDEX)
    def tx_by_hash_and_index(self, block_hash: Hash32, index: int) -> Json | None:
        return self._tx_in_block(self._block_by_hash(block_hash), index)

    @rpc_method("getRawTransactionByBlockNumberAndIndex", BLOCK, INDEX)
    def raw_tx_by_number_and_index(self, ref: p.BlockRef, index: int) -> str | None:
        block = self._block_by_ref(ref)
        if block is None or index >= len(block.transactions):
            return None
        return to_data(block.transactions[index].encode())

    @rpc_method("getRawTransactionByBlockHashAndIndex", BLOCK_HASH, INDEX)
    def raw_tx_by_hash_and_index(self, block_hash: Hash32, index: int) -> str | None:
        block = self._block_by_hash(block_hash)
        if block is None or index >= len(block.transactions):
            return None
        return to_data(block.transactions[index].encode())

    @rpc_method("getRawTransactionByHash", TX_HASH)
    def raw_tx_by_hash(self, tx_hash: Hash32) -> str | None:
        try:
            tx, _location = self.ledger.get_transaction(tx_hash)
        except TransactionNotFound:
            return None
        return to_data(tx.encode())

    @rpc_method("getTransactionByHash", TX_HASH)
    def get_transaction_by_hash(self, tx_hash: Hash32) -> Json | None:
        try:
            tx, location = self.ledger.get_transaction(tx_hash)
        except TransactionNotFound:
            return None
        base_fee = None
        if location is not None:
            header = self.ledger.get_block_by_hash(location.block_hash).header
            base_fee = getattr(header, "base_fee_per_gas", None)
        return format_transaction(tx, location, base_fee=base_fee)

    @rpc_method("getTransactionReceipt", TX_HASH)
    def get_transaction_receipt(self, tx_hash: Hash32) -> Json | None:
        try:
            tx, location = self.ledger.get_transaction(tx_hash)
        except TransactionNotFound:
            return None
        if location is None:
            return None  # pending: no receipt yet
        block = self.ledger.get_block_by_hash(location.block_hash)
        receipts = self.ledger.get_receipts(block)
        return format_receipt(block, receipts, location.index, tx)

    @rpc_method("getBlockReceipts", BLOCK)
    def get_block_receipts(self, ref: p.BlockRef) -> list[Json] | None:
        block = self._block_by_ref(ref)
        if block is None:
            return None
        receipts = self.ledger.get_receipts(block)
        return [
            format_receipt(block, receipts, index, tx)
            for index, tx in enumerate(block.transactions)
        ]
