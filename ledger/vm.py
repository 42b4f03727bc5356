"""Our one fork: py-evm's Prague with the three rules a permissioned BFT chain changes.

1. **Zero gas price.** Members do not pay for transactions, so the EIP-1559 base fee is
   pinned at 0 (py-evm would raise it to 1 wei after the first busy block, making every
   zero-priced transaction invalid). Gas still meters and bounds work per block.
2. **Long extraData.** A header carries the commit seals of its parent (see ``seal.py``):
   ~90 bytes per validator, so the 32-byte mainnet limit is raised.
3. **Timestamps in seconds, non-decreasing.** Several blocks per second are normal here;
   mainnet's "strictly later than parent" rule would force the clock ahead by a second per
   block. We keep seconds (contracts read ``block.timestamp`` as Unix seconds) and allow a
   block to share its parent's second: ``timestamp = max(now, parent.timestamp)``. The
   validation rejects timestamps before the parent's; how far a proposer's clock may run
   ahead of ours is a consensus rule (the consensus driver checks it, not the VM).

Everything else (opcodes, gas schedule, receipts, system contracts) is py-evm's Prague.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from hashlib import sha256
from typing import Any

from eth.abc import BlockAPI, BlockHeaderAPI, ReceiptAPI, SignedTransactionAPI
from eth.chains.base import Chain
from eth.constants import (
    POST_MERGE_DIFFICULTY,
    POST_MERGE_MIX_HASH,
    POST_MERGE_NONCE,
    POST_MERGE_OMMERS_HASH,
)
from eth.vm.forks.prague import PragueVM
from eth.vm.forks.prague.computation import PragueComputation
from eth.vm.forks.prague.constants import (
    CONSOLIDATION_REQUEST_PREDEPLOY_ADDRESS,
    DEPOSIT_CONTRACT_ADDRESS,
    WITHDRAWAL_REQUEST_PREDEPLOY_ADDRESS,
)
from eth.vm.forks.prague.headers import create_prague_header_from_parent
from eth.vm.forks.prague.state import PragueState
from eth_utils.exceptions import ValidationError

from ledger.exceptions import LedgerError
from ledger.typing import Address

#: EIP-7685 requests hash of a block without requests: sha256 of nothing.
EMPTY_REQUESTS_HASH = sha256(b"").digest()
_REQUEST_SOURCES = tuple(
    Address(a)
    for a in (
        DEPOSIT_CONTRACT_ADDRESS,
        WITHDRAWAL_REQUEST_PREDEPLOY_ADDRESS,
        CONSOLIDATION_REQUEST_PREDEPLOY_ADDRESS,
    )
)

#: Room for the seals of ~700 validators; far beyond any consortium we plan for.
EXTRA_DATA_MAX_BYTES = 64 * 1024

_prague_header_from_parent = create_prague_header_from_parent()


def _create_header_from_parent(
    parent_header: BlockHeaderAPI | None, **header_params: Any
) -> BlockHeaderAPI:
    header_params.pop("base_fee_per_gas", None)
    if parent_header is None:
        genesis: BlockHeaderAPI = _prague_header_from_parent(
            None, base_fee_per_gas=0, **header_params
        )
        return genesis
    header_params.setdefault("timestamp", parent_header.timestamp)
    header_params.setdefault("gas_limit", parent_header.gas_limit)
    header = _prague_header_from_parent(parent_header, **header_params)
    pinned: BlockHeaderAPI = header.copy(base_fee_per_gas=0)
    return pinned


class MedledgerVM(PragueVM):
    """Prague with zero base fee, long extraData and same-second blocks."""

    fork = "medledger-prague"
    extra_data_max_bytes = EXTRA_DATA_MAX_BYTES
    create_header_from_parent = staticmethod(_create_header_from_parent)

    @classmethod
    def validate_gas(cls, header: BlockHeaderAPI, parent_header: BlockHeaderAPI) -> None:
        if header.gas_limit != parent_header.gas_limit:
            raise ValidationError(
                f"block gas limit is fixed by genesis at {parent_header.gas_limit}, "
                f"header has {header.gas_limit}"
            )
        if header.base_fee_per_gas != 0:
            raise ValidationError(f"base fee must be 0, header has {header.base_fee_per_gas}")

    @classmethod
    def validate_header(cls, header: BlockHeaderAPI, parent_header: BlockHeaderAPI) -> None:
        if parent_header is None:
            raise ValidationError("Must have access to parent header to validate current header")
        if len(header.extra_data) > cls.extra_data_max_bytes:
            raise ValidationError(
                f"extraData is {len(header.extra_data)} bytes, limit {cls.extra_data_max_bytes}"
            )
        cls.validate_gas(header, parent_header)
        if header.block_number != parent_header.block_number + 1:
            raise ValidationError(
                f"block #{header.block_number} does not follow parent #{parent_header.block_number}"
            )
        if header.timestamp < parent_header.timestamp:
            raise ValidationError(
                f"timestamp {header.timestamp} is before the parent's {parent_header.timestamp}"
            )
        if header.difficulty != POST_MERGE_DIFFICULTY:
            raise ValidationError(f"difficulty must be {POST_MERGE_DIFFICULTY}")
        if header.nonce != POST_MERGE_NONCE:
            raise ValidationError(f"nonce must be {POST_MERGE_NONCE!r}")
        if header.uncles_hash != POST_MERGE_OMMERS_HASH:
            raise ValidationError("uncles hash must be the empty-list hash")

    def block_postprocessing(self, block: BlockAPI) -> BlockAPI:
        """Prague's EIP-7685 requests, without re-reading every receipt when there are none.

        Requests come only from logs of the deposit contract and from calls to the two
        request predeploys. Our chain has none of them unless genesis puts code there;
        without that code the result is the empty requests hash, which py-evm would
        compute only after decoding every receipt of the block back from its trie (about a
        tenth of the block time). With the code present, py-evm's own logic runs.
        """
        if any(self.state.get_code(address) for address in _REQUEST_SOURCES):
            processed: BlockAPI = super().block_postprocessing(block)
            return processed
        header = block.header.copy(requests_hash=EMPTY_REQUESTS_HASH)
        result: BlockAPI = block.copy(header=header)
        return result

    def apply_admissible_transactions(
        self,
        transactions: Sequence[SignedTransactionAPI],
        base_header: BlockHeaderAPI,
        *,
        is_permitted: Callable[[Address], bool],
    ) -> tuple[
        BlockHeaderAPI,
        tuple[SignedTransactionAPI, ...],
        tuple[ReceiptAPI, ...],
        tuple[SignedTransactionAPI, ...],
    ]:
        """Apply, in one pass, every transaction still valid at its turn; skip the rest.

        Like py-evm's ``apply_all_transactions`` (state is committed once per block by
        ``finalize_block``, not per transaction), but a transaction that became invalid
        since the mempool admitted it (its nonce was used, its sender lost permission or
        funds, the block is full) is checked *before* execution and left out instead of
        aborting the whole block.

        Returns
        -------
        (header, included, receipts, skipped)
        """
        header = base_header
        included: list[SignedTransactionAPI] = []
        receipts: list[ReceiptAPI] = []
        skipped: list[SignedTransactionAPI] = []
        for transaction in transactions:
            try:
                if not is_permitted(transaction.sender):
                    raise ValidationError("sender is not permitted")
                self.validate_transaction_against_header(header, transaction)
                self.state.validate_transaction(transaction)
            except ValidationError:
                skipped.append(transaction)
                continue
            receipt, _ = self.apply_transaction(header, transaction)
            header = self.add_receipt_to_header(header, receipt)
            included.append(transaction)
            receipts.append(receipt)
        return header, tuple(included), tuple(receipts), tuple(skipped)


def header_defaults() -> dict[str, Any]:
    """Header fields of a post-merge block that our chain never varies."""
    return {
        "difficulty": POST_MERGE_DIFFICULTY,
        "nonce": POST_MERGE_NONCE,
        "mix_hash": POST_MERGE_MIX_HASH,
    }


def chain_class(chain_id: int) -> type[Chain]:
    """The py-evm ``Chain`` class of a medledger chain: one VM from block 0."""
    return Chain.configure(
        __name__="MedledgerChain",
        vm_configuration=((0, MedledgerVM),),
        chain_id=chain_id,
    )


class CallTimeoutError(LedgerError):
    """Raised inside the EVM when a read-only call passes its deadline.

    Not a py-evm ``VMError`` on purpose: py-evm turns those into a failed frame and lets
    the caller frame go on; this one must unwind every frame of the call at once.
    """


#: Gas charges between two looks at the clock (one charge per opcode at least).
_CLOCK_EVERY = 1024


class CallComputation(PragueComputation):
    """Prague's computation with a wall-clock deadline, for ``eth_call``/``estimateGas`` only.

    Gas alone does not bound the time of a call: the gas cap buys seconds of py-evm work.
    Every opcode charges gas, so the charge is where the deadline is checked.
    """

    def consume_gas(self, amount: int, reason: str) -> None:
        super().consume_gas(amount, reason)
        state = self.state
        if isinstance(state, CallState):
            state.ticks += 1
            if state.ticks % _CLOCK_EVERY == 0 and time.monotonic() > state.deadline:
                raise CallTimeoutError(reason)


class CallState(PragueState):
    """The state of a read-only call: carries the call's deadline for its computations."""

    computation_class = CallComputation
    deadline: float = math.inf
    ticks: int = 0


class CallVM(MedledgerVM):
    """Our fork for read-only calls; blocks are never built or imported with it."""

    _state_class = CallState


def call_chain_class(chain_id: int) -> type[Chain]:
    """The py-evm ``Chain`` class that runs read-only calls (:class:`CallVM` from block 0)."""
    return Chain.configure(
        __name__="MedledgerCallChain",
        vm_configuration=((0, CallVM),),
        chain_id=chain_id,
    )
