"""Read-only execution (``eth_call``, ``eth_estimateGas``) on the state after a block."""

from __future__ import annotations

from eth.abc import BlockHeaderAPI, ComputationAPI, SignedTransactionAPI
from eth.chains.base import Chain
from eth.estimators.gas import binary_gas_search
from eth.exceptions import Revert, VMError
from eth.vm.spoof import SpoofTransaction
from eth_utils.exceptions import ValidationError

from ledger.abc import CallRequest
from ledger.exceptions import ExecutionFailed, ExecutionReverted
from ledger.typing import Address

ZERO_ADDRESS = Address(b"\x00" * 20)


def _transaction(
    chain: Chain, request: CallRequest, header: BlockHeaderAPI, gas: int
) -> SignedTransactionAPI:
    sender = request.sender or ZERO_ADDRESS
    vm = chain.get_vm(header)
    nonce = vm.state.get_nonce(sender)
    unsigned = vm.create_unsigned_transaction(
        nonce=nonce,
        gas_price=request.gas_price or 0,
        gas=gas,
        to=request.to if request.to is not None else Address(b""),
        value=request.value,
        data=request.data,
    )
    spoof: SignedTransactionAPI = SpoofTransaction(unsigned, from_=sender)  # type: ignore[assignment]
    return spoof


def _execute(chain: Chain, transaction: SignedTransactionAPI, header: BlockHeaderAPI) -> bytes:
    vm = chain.get_vm(header)
    try:
        with vm.in_costless_state() as state:
            computation: ComputationAPI = state.costless_execute_transaction(transaction)
    except ValidationError as exc:
        raise ExecutionFailed(f"call is invalid on this state: {exc}") from exc
    if computation.is_error:
        if isinstance(computation.error, Revert):
            raise ExecutionReverted(bytes(computation.output))
        raise ExecutionFailed(f"execution failed: {computation.error!r}")
    return bytes(computation.output)


def call(chain: Chain, request: CallRequest, header: BlockHeaderAPI) -> bytes:
    """Run ``request`` on the state after ``header``; return its output."""
    gas = request.gas if request.gas is not None else header.gas_limit
    return _execute(chain, _transaction(chain, request, header, gas), header)


def estimate_gas(chain: Chain, request: CallRequest, header: BlockHeaderAPI) -> int:
    """The least gas (within 1) with which ``request`` succeeds on the state after ``header``."""
    cap = request.gas if request.gas is not None else header.gas_limit
    transaction = _transaction(chain, request, header, cap)
    # Run once at the cap first: a revert surfaces with its data, as eth_estimateGas does.
    _execute(chain, transaction, header)
    vm = chain.get_vm(header)
    try:
        with vm.in_costless_state() as state:
            return int(binary_gas_search(state, transaction, tolerance=1))
    except VMError as exc:
        raise ExecutionFailed(f"execution failed: {exc!r}") from exc
