"""Read-only execution (``eth_call``, ``eth_estimateGas``) on the state after a block.

Two kinds of caller: the ledger itself (permission and governance reads, unbounded, on the
state it is building or has committed) and clients through JSON-RPC, whose calls go through
a :class:`CallRunner`. A client's call must never stall consensus, so the runner:

- runs on *committed* state with per-call py-evm objects, never under the ledger lock;
- clamps the gas to a cap (geth's ``RPCGasCap``: 50,000,000 unless configured);
- stops the EVM at a wall-clock deadline (geth's ``RPCEVMTimeout``: 5 s), answered like
  geth: "execution aborted (timeout = 5s)";
- runs at most ``max_concurrent`` calls at once; a call that finds no slot within
  ``queue_wait_s`` is refused (``CallsBusy``) instead of queueing for ever;
- charges every call of one JSON-RPC request (a batch) to one :class:`CallBudget`: the
  gas of all its calls together stays within the cap, and they share one deadline.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from dataclasses import dataclass, field

from eth.abc import BlockHeaderAPI, ComputationAPI, SignedTransactionAPI
from eth.chains.base import Chain
from eth.exceptions import Revert
from eth.vm.spoof import SpoofTransaction
from eth_utils.exceptions import ValidationError

from ledger.abc import CallRequest
from ledger.exceptions import ExecutionFailed, ExecutionReverted, LedgerError
from ledger.typing import Address
from ledger.vm import CallState, CallTimeoutError

ZERO_ADDRESS = Address(b"\x00" * 20)
#: The intrinsic gas of the plainest transaction.
MIN_GAS = 21_000


class CallsBusy(LedgerError):
    """No call slot freed up in time, or the request's call budget is spent."""


class ExecutionTimeout(ExecutionFailed):
    """The EVM passed the call's deadline and was stopped."""


@dataclass(frozen=True, slots=True)
class CallLimits:
    """Bounds on clients' calls (``rpc`` section of node.json)."""

    gas_cap: int = 50_000_000
    timeout_s: float = 5.0
    max_concurrent: int = 2
    queue_wait_s: float = 1.0


@dataclass(slots=True)
class CallBudget:
    """What the calls of one JSON-RPC request may still spend (a batch shares one)."""

    started: float = field(default_factory=time.monotonic)
    gas_used: int = 0


_budget: ContextVar[CallBudget | None] = ContextVar("medledger_call_budget", default=None)


@contextlib.contextmanager
def request_budget() -> Iterator[CallBudget]:
    """Charge every call made inside the block to one fresh budget (the dispatcher's)."""
    budget = CallBudget()
    token = _budget.set(budget)
    try:
        yield budget
    finally:
        _budget.reset(token)


def duration(seconds: float) -> str:
    """A duration as Go prints it (geth's error text): ``5s``, ``1.5s``, ``500ms``."""
    if seconds < 1:
        return f"{seconds * 1000:g}ms"
    return f"{seconds:g}s"


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


def _run(
    chain: Chain, transaction: SignedTransactionAPI, header: BlockHeaderAPI, deadline: float
) -> ComputationAPI:
    vm = chain.get_vm(header)
    try:
        with vm.in_costless_state() as state:
            if isinstance(state, CallState):
                state.deadline = deadline
            computation: ComputationAPI = state.costless_execute_transaction(transaction)
    except ValidationError as exc:
        raise ExecutionFailed(f"call is invalid on this state: {exc}") from exc
    return computation


def _raise_for(computation: ComputationAPI) -> None:
    if computation.is_error:
        if isinstance(computation.error, Revert):
            raise ExecutionReverted(bytes(computation.output))
        raise ExecutionFailed(f"execution failed: {computation.error!r}")


def call(chain: Chain, request: CallRequest, header: BlockHeaderAPI) -> bytes:
    """Run ``request`` on the state after ``header``; return its output (no limits)."""
    gas = request.gas if request.gas is not None else header.gas_limit
    computation = _run(chain, _transaction(chain, request, header, gas), header, float("inf"))
    _raise_for(computation)
    return bytes(computation.output)


class CallRunner:
    """Clients' calls on committed state, bounded in gas, time and concurrency.

    ``chain`` makes a fresh py-evm chain over the committed store for each call (py-evm
    objects are not thread-safe; these share nothing but the read-only LMDB store).
    """

    def __init__(self, chain: Callable[[], Chain], limits: CallLimits | None = None) -> None:
        self._chain = chain
        self.configure(limits or CallLimits())

    def configure(self, limits: CallLimits) -> None:
        """Apply new limits (at startup, before the RPC serves)."""
        self.limits = limits
        self._slots = threading.BoundedSemaphore(limits.max_concurrent)

    @contextlib.contextmanager
    def _slot(self) -> Iterator[CallBudget]:
        budget = _budget.get() or CallBudget()
        limits = self.limits
        if time.monotonic() - budget.started >= limits.timeout_s:
            raise CallsBusy(f"request exceeds its call time ({duration(limits.timeout_s)})")
        if budget.gas_used >= limits.gas_cap:
            raise CallsBusy(f"request exceeds its call gas ({limits.gas_cap})")
        slots = self._slots
        if not slots.acquire(timeout=limits.queue_wait_s):
            raise CallsBusy(f"too many concurrent calls (limit {limits.max_concurrent})")
        try:
            yield budget
        finally:
            slots.release()

    def _gas(self, request: CallRequest, budget: CallBudget) -> int:
        left = self.limits.gas_cap - budget.gas_used
        return min(request.gas if request.gas is not None else left, left)

    def _deadline(self, budget: CallBudget) -> float:
        return budget.started + self.limits.timeout_s

    def _execute(
        self,
        chain: Chain,
        transaction: SignedTransactionAPI,
        header: BlockHeaderAPI,
        budget: CallBudget,
    ) -> ComputationAPI:
        try:
            computation = _run(chain, transaction, header, self._deadline(budget))
        except CallTimeoutError:
            budget.gas_used += transaction.gas
            raise ExecutionTimeout(
                f"execution aborted (timeout = {duration(self.limits.timeout_s)})"
            ) from None
        budget.gas_used += computation.get_gas_used()
        return computation

    def call(self, request: CallRequest, header: BlockHeaderAPI) -> bytes:
        """``eth_call``: the output of ``request`` on the state after ``header``."""
        with self._slot() as budget:
            chain = self._chain()
            transaction = _transaction(chain, request, header, self._gas(request, budget))
            computation = self._execute(chain, transaction, header, budget)
        _raise_for(computation)
        return bytes(computation.output)

    def estimate_gas(self, request: CallRequest, header: BlockHeaderAPI) -> int:
        """``eth_estimateGas``: the least gas (within 1) with which ``request`` succeeds.

        As geth: the ceiling is the requested gas or the block gas limit, clamped to the
        cap and, when a fee is given, to what the sender's balance can pay for.
        """
        with self._slot() as budget:
            chain = self._chain()
            ceiling = min(
                request.gas if request.gas is not None else header.gas_limit,
                self.limits.gas_cap - budget.gas_used,
            )
            fee = request.gas_price or 0
            if fee > 0:
                balance = chain.get_vm(header).state.get_balance(request.sender or ZERO_ADDRESS)
                if balance < request.value:
                    raise ExecutionFailed("insufficient funds for transfer")
                ceiling = min(ceiling, (balance - request.value) // fee)
                if ceiling < MIN_GAS:
                    raise ExecutionFailed(
                        f"insufficient funds for gas * price + value: balance {balance}"
                    )
            free = CallRequest(
                to=request.to,
                sender=request.sender,
                data=request.data,
                value=request.value,
            )

            def attempt(gas: int) -> ComputationAPI:
                transaction = _transaction(chain, free, header, gas)
                return self._execute(chain, transaction, header, budget)

            top = attempt(ceiling)
            if top.is_error:
                if isinstance(top.error, Revert):
                    raise ExecutionReverted(bytes(top.output))
                raise ExecutionFailed(f"gas required exceeds allowance ({ceiling}): {top.error!r}")
            low, high = int(top.get_gas_used()) - 1, ceiling
            while high - low > 1:
                middle = (low + high) // 2
                try:
                    ok = not attempt(middle).is_error
                except ExecutionTimeout:
                    raise
                except ExecutionFailed:  # below the intrinsic gas
                    ok = False
                if ok:
                    high = middle
                else:
                    low = middle
            return high
