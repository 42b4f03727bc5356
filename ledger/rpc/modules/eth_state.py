"""``eth_`` methods that read state, execute calls and submit transactions."""

from __future__ import annotations

from typing import Any

from eth_abi.abi import decode as abi_decode

from ledger.abc import CallRequest, LedgerAPI
from ledger.calls import CallsBusy
from ledger.exceptions import ExecutionFailed, ExecutionReverted, TransactionRejected
from ledger.rpc import params as p
from ledger.rpc.errors import (
    ExecutionFailedError,
    ExecutionRevertedError,
    LimitExceeded,
    TransactionRejectedError,
)
from ledger.rpc.hexcodec import decode_data, to_data, to_data32, to_quantity
from ledger.rpc.registry import RPCModule, rpc_method
from ledger.rpc.resolve import resolve_state
from ledger.typing import Address, Hash32

ADDRESS = p.Param("address", p.address)
LATEST = p.BlockRef(tag="latest")
BLOCK = p.Param("block", p.block_ref, default=LATEST)
CALL = p.Param("transaction", p.call_object)
ERROR_STRING_SELECTOR = bytes.fromhex("08c379a0")
MAX_RAW_TRANSACTION = 128 * 1024


def storage_slot(value: Any) -> int:
    """A storage key: geth accepts any 0x-hex of at most 32 bytes, leading zeros included."""
    if isinstance(value, str) and value[:2] in ("0x", "0X") and len(value) % 2:
        value = "0x0" + value[2:]
    raw = decode_data(value, max_size=32)
    if not raw:
        raise ValueError("empty storage key")
    return int.from_bytes(raw, "big")


def raw_transaction(value: Any) -> bytes:
    raw = decode_data(value, max_size=MAX_RAW_TRANSACTION)
    if not raw:
        raise ValueError("empty transaction")
    return raw


def revert_error(exc: ExecutionReverted) -> ExecutionRevertedError:
    """Geth's shape: ``execution reverted[: reason]`` with the raw revert data as hex."""
    message = "execution reverted"
    if exc.data[:4] == ERROR_STRING_SELECTOR:
        try:
            (reason,) = abi_decode(["string"], exc.data[4:])
            message = f"execution reverted: {reason}"
        except Exception:  # a malformed Error(string) keeps the generic message
            pass
    return ExecutionRevertedError(message, data=to_data(exc.data))


class EthState(RPCModule):
    name = "eth"

    def __init__(self, ledger: LedgerAPI) -> None:
        self.ledger = ledger

    @rpc_method("getBalance", ADDRESS, BLOCK)
    def get_balance(self, address: Address, ref: p.BlockRef) -> str:
        return to_quantity(self.ledger.get_balance(address, resolve_state(self.ledger, ref)))

    @rpc_method("getCode", ADDRESS, BLOCK)
    def get_code(self, address: Address, ref: p.BlockRef) -> str:
        return to_data(self.ledger.get_code(address, resolve_state(self.ledger, ref)))

    @rpc_method("getStorageAt", ADDRESS, p.Param("slot", storage_slot), BLOCK)
    def get_storage_at(self, address: Address, slot: int, ref: p.BlockRef) -> str:
        at = resolve_state(self.ledger, ref)
        return to_data32(self.ledger.get_storage_at(address, slot, at))

    @rpc_method("getTransactionCount", ADDRESS, BLOCK)
    def get_transaction_count(self, address: Address, ref: p.BlockRef) -> str:
        if ref.tag == "pending":
            return to_quantity(self.ledger.pending_nonce(address))
        return to_quantity(self.ledger.get_nonce(address, resolve_state(self.ledger, ref)))

    def _request(self, spec: p.CallSpec) -> CallRequest:
        return CallRequest(
            to=spec.to,
            sender=spec.sender,
            data=spec.data,
            value=spec.value,
            gas=spec.gas,
            gas_price=spec.gas_price,
        )

    @rpc_method("call", CALL, BLOCK, p.Param("state_overrides", p.no_overrides, default=None))
    def call(self, spec: p.CallSpec, ref: p.BlockRef, _overrides: None) -> str:
        at = resolve_state(self.ledger, ref)
        try:
            return to_data(self.ledger.call(self._request(spec), at))
        except ExecutionReverted as exc:
            raise revert_error(exc) from None
        except ExecutionFailed as exc:
            raise ExecutionFailedError(str(exc) or "execution failed") from None
        except CallsBusy as exc:
            raise LimitExceeded(f"limit exceeded: {exc}") from None

    @rpc_method("estimateGas", CALL, BLOCK)
    def estimate_gas(self, spec: p.CallSpec, ref: p.BlockRef) -> str:
        at = resolve_state(self.ledger, ref)
        try:
            return to_quantity(self.ledger.estimate_gas(self._request(spec), at))
        except ExecutionReverted as exc:
            raise revert_error(exc) from None
        except ExecutionFailed as exc:
            raise ExecutionFailedError(str(exc) or "execution failed") from None
        except CallsBusy as exc:
            raise LimitExceeded(f"limit exceeded: {exc}") from None

    @rpc_method("sendRawTransaction", p.Param("transaction", raw_transaction))
    def send_raw_transaction(self, raw: bytes) -> str:
        try:
            tx_hash: Hash32 = self.ledger.send_raw_transaction(raw)
        except TransactionRejected as exc:
            raise TransactionRejectedError(exc.message, data=exc.reason) from None
        return to_data(tx_hash)
