"""Normalization on the way out: py-evm objects as the JSON web3.py and common tools expect.

Field sets follow geth's ``RPCMarshalBlock``/``RPCTransaction``/receipt marshalling, including
the typed-transaction fields (types 0, 1, 2 and, since Prague, 4) and post-merge header fields.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from eth.abc import BlockAPI, BlockHeaderAPI, LogAPI, ReceiptAPI, SignedTransactionAPI
from eth_utils.crypto import keccak
from rlp import encode as rlp_encode

from ledger.abc import TransactionLocation
from ledger.rpc.hexcodec import to_data, to_data32, to_quantity

Json = dict[str, Any]
ZERO_QUANTITY = "0x0"


def _opt_header(header: BlockHeaderAPI, attr: str) -> Any:
    return getattr(header, attr, None)


def format_header(header: BlockHeaderAPI) -> Json:
    """A header as the block object without ``transactions`` (also the ``newHeads`` payload)."""
    out: Json = {
        "number": to_quantity(header.block_number),
        "hash": to_data(header.hash),
        "parentHash": to_data(header.parent_hash),
        "nonce": to_data(header.nonce),
        "sha3Uncles": to_data(header.uncles_hash),
        "logsBloom": to_data(header.bloom.to_bytes(256, "big")),
        "transactionsRoot": to_data(header.transaction_root),
        "stateRoot": to_data(header.state_root),
        "receiptsRoot": to_data(header.receipt_root),
        "miner": to_data(header.coinbase),
        "difficulty": to_quantity(header.difficulty),
        "totalDifficulty": to_quantity(header.difficulty),
        "extraData": to_data(header.extra_data),
        "gasLimit": to_quantity(header.gas_limit),
        "gasUsed": to_quantity(header.gas_used),
        "timestamp": to_quantity(header.timestamp),
        "mixHash": to_data(header.mix_hash),
    }
    for attr, key, enc in (
        ("base_fee_per_gas", "baseFeePerGas", to_quantity),
        ("withdrawals_root", "withdrawalsRoot", to_data),
        ("blob_gas_used", "blobGasUsed", to_quantity),
        ("excess_blob_gas", "excessBlobGas", to_quantity),
        ("parent_beacon_block_root", "parentBeaconBlockRoot", to_data),
        ("requests_hash", "requestsHash", to_data),
    ):
        value = _opt_header(header, attr)
        if value is not None:
            out[key] = enc(value)
    return out


def format_block(block: BlockAPI, *, full_transactions: bool) -> Json:
    """A block with transaction hashes, or full transaction objects."""
    header = block.header
    out = format_header(header)
    out["size"] = to_quantity(len(rlp_encode(block)))
    if full_transactions:
        location_hash = header.hash
        out["transactions"] = [
            format_transaction(
                tx,
                TransactionLocation(
                    block_number=header.block_number, block_hash=location_hash, index=index
                ),
                base_fee=_opt_header(header, "base_fee_per_gas"),
            )
            for index, tx in enumerate(block.transactions)
        ]
    else:
        out["transactions"] = [to_data(tx.hash) for tx in block.transactions]
    out["uncles"] = [to_data(uncle.hash) for uncle in block.uncles]
    if _opt_header(header, "withdrawals_root") is not None:
        out["withdrawals"] = [
            {
                "index": to_quantity(w.index),
                "validatorIndex": to_quantity(w.validator_index),
                "address": to_data(w.address),
                "amount": to_quantity(w.amount),
            }
            for w in getattr(block, "withdrawals", ())
        ]
    return out


def transaction_type(tx: SignedTransactionAPI) -> int:
    return int(getattr(tx, "type_id", None) or 0)


def effective_gas_price(tx: SignedTransactionAPI, base_fee: int | None) -> int:
    """What the sender paid per gas: ``gasPrice``, or EIP-1559's ``min(maxFee, base + tip)``."""
    if transaction_type(tx) < 2 or base_fee is None:
        return int(tx.gas_price)
    return min(int(tx.max_fee_per_gas), base_fee + int(tx.max_priority_fee_per_gas))


def format_transaction(
    tx: SignedTransactionAPI, location: TransactionLocation | None, *, base_fee: int | None
) -> Json:
    """A transaction; ``location`` ``None`` means pending (block fields are ``null``)."""
    kind = transaction_type(tx)
    out: Json = {
        "type": to_quantity(kind),
        "hash": to_data(tx.hash),
        "nonce": to_quantity(tx.nonce),
        "blockHash": None,
        "blockNumber": None,
        "transactionIndex": None,
        "from": to_data(tx.sender),
        "to": to_data(tx.to) if tx.to else None,
        "value": to_quantity(tx.value),
        "gas": to_quantity(tx.gas),
        "input": to_data(tx.data),
        "r": to_quantity(tx.r),
        "s": to_quantity(tx.s),
    }
    if location is not None:
        out["blockHash"] = to_data(location.block_hash)
        out["blockNumber"] = to_quantity(location.block_number)
        out["transactionIndex"] = to_quantity(location.index)
    if kind == 0:
        out["gasPrice"] = to_quantity(tx.gas_price)
        out["v"] = to_quantity(tx.v)  # type: ignore[attr-defined]  # legacy txs only
        chain_id = tx.chain_id
        if chain_id is not None:
            out["chainId"] = to_quantity(chain_id)
        return out
    out["chainId"] = to_quantity(tx.chain_id or 0)
    out["v"] = to_quantity(tx.y_parity)
    out["yParity"] = to_quantity(tx.y_parity)
    out["accessList"] = [
        {"address": to_data(addr), "storageKeys": [to_data32(slot) for slot in slots]}
        for addr, slots in tx.access_list
    ]
    if kind == 1:
        out["gasPrice"] = to_quantity(tx.gas_price)
        return out
    out["maxFeePerGas"] = to_quantity(tx.max_fee_per_gas)
    out["maxPriorityFeePerGas"] = to_quantity(tx.max_priority_fee_per_gas)
    # geth reports the effective price for mined dynamic-fee txs, the fee cap for pending ones
    out["gasPrice"] = to_quantity(
        effective_gas_price(tx, base_fee) if location is not None else tx.max_fee_per_gas
    )
    if kind == 4:
        out["authorizationList"] = [
            {
                "chainId": to_quantity(auth.chain_id),
                "address": to_data(auth.address),
                "nonce": to_quantity(auth.nonce),
                "yParity": to_quantity(auth.y_parity),
                "r": to_quantity(auth.r),
                "s": to_quantity(auth.s),
            }
            for auth in tx.authorization_list
        ]
    return out


def format_log(
    log: LogAPI,
    *,
    log_index: int,
    tx_hash: bytes,
    tx_index: int,
    block_hash: bytes,
    block_number: int,
) -> Json:
    return {
        "address": to_data(log.address),
        "topics": [to_data32(topic) for topic in log.topics],
        "data": to_data(log.data),
        "blockNumber": to_quantity(block_number),
        "blockHash": to_data(block_hash),
        "transactionHash": to_data(tx_hash),
        "transactionIndex": to_quantity(tx_index),
        "logIndex": to_quantity(log_index),
        "removed": False,
    }


def contract_address(tx: SignedTransactionAPI) -> bytes | None:
    """The address a contract-creating transaction deploys to (``keccak(rlp([sender, nonce])))``."""
    if tx.to:
        return None
    return keccak(rlp_encode([tx.sender, tx.nonce]))[12:]


def format_receipt(
    block: BlockAPI, receipts: Sequence[ReceiptAPI], index: int, tx: SignedTransactionAPI
) -> Json:
    """The receipt of ``block.transactions[index]``; log indices count across the block."""
    header = block.header
    receipt = receipts[index]
    previous_cumulative = receipts[index - 1].gas_used if index else 0
    first_log_index = sum(len(r.logs) for r in receipts[:index])
    created = contract_address(tx)
    block_hash = header.hash
    return {
        "type": to_quantity(transaction_type(tx)),
        "transactionHash": to_data(tx.hash),
        "transactionIndex": to_quantity(index),
        "blockHash": to_data(block_hash),
        "blockNumber": to_quantity(header.block_number),
        "from": to_data(tx.sender),
        "to": to_data(tx.to) if tx.to else None,
        "contractAddress": to_data(created) if created is not None else None,
        "gasUsed": to_quantity(receipt.gas_used - previous_cumulative),
        "cumulativeGasUsed": to_quantity(receipt.gas_used),
        "effectiveGasPrice": to_quantity(
            effective_gas_price(tx, _opt_header(header, "base_fee_per_gas"))
        ),
        "status": "0x1" if receipt.state_root == b"\x01" else ZERO_QUANTITY,
        "logsBloom": to_data(receipt.bloom.to_bytes(256, "big")),
        "logs": [
            format_log(
                log,
                log_index=first_log_index + position,
                tx_hash=tx.hash,
                tx_index=index,
                block_hash=block_hash,
                block_number=header.block_number,
            )
            for position, log in enumerate(receipt.logs)
        ],
    }
