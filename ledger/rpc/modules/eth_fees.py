"""Fee methods.

The consortium chain charges by the block's base fee only, so the suggested tip is zero and
``eth_gasPrice`` is the next block's base fee.
"""

from __future__ import annotations

from eth._utils.calculations import fake_exponential
from eth.abc import BlockAPI, BlockHeaderAPI, ReceiptAPI
from eth.vm.forks.cancun.constants import MIN_BLOB_BASE_FEE
from eth.vm.forks.london.headers import calculate_expected_base_fee_per_gas
from eth.vm.forks.prague.constants import BLOB_BASE_FEE_UPDATE_FRACTION_PRAGUE

from ledger.abc import LedgerAPI
from ledger.rpc import params as p
from ledger.rpc.format import Json, effective_gas_price
from ledger.rpc.hexcodec import to_quantity
from ledger.rpc.registry import RPCModule, rpc_method
from ledger.rpc.resolve import resolve_state
from ledger.typing import BlockNumber

MAX_FEE_HISTORY_BLOCKS = 1024


def next_base_fee(header: BlockHeaderAPI) -> int:
    """The base fee the block after ``header`` will have under EIP-1559's rule."""
    if getattr(header, "base_fee_per_gas", None) is None:
        return 0
    return int(calculate_expected_base_fee_per_gas(header))


def block_rewards(
    block: BlockAPI, receipts: tuple[ReceiptAPI, ...], percentiles: tuple[float, ...]
) -> list[str]:
    """Effective tips at gas-weighted percentiles, as geth computes them."""
    if not block.transactions:
        return ["0x0"] * len(percentiles)
    base_fee = int(getattr(block.header, "base_fee_per_gas", 0) or 0)
    entries = []
    previous = 0
    for tx, receipt in zip(block.transactions, receipts, strict=True):
        tip = effective_gas_price(tx, base_fee) - base_fee
        entries.append((tip, receipt.gas_used - previous))
        previous = receipt.gas_used
    entries.sort()
    total = sum(gas for _, gas in entries) or 1
    out: list[str] = []
    index, cumulative = 0, entries[0][1]
    for percentile in percentiles:
        threshold = total * percentile / 100
        while cumulative < threshold and index < len(entries) - 1:
            index += 1
            cumulative += entries[index][1]
        out.append(to_quantity(max(entries[index][0], 0)))
    return out


class EthFees(RPCModule):
    name = "eth"

    def __init__(self, ledger: LedgerAPI) -> None:
        self.ledger = ledger

    @rpc_method("gasPrice")
    def gas_price(self) -> str:
        return to_quantity(next_base_fee(self.ledger.head()))

    @rpc_method("blobBaseFee")
    def blob_base_fee(self) -> str:
        """Prague's blob base fee for the next block (our chain accepts no blob txs)."""
        excess = int(getattr(self.ledger.head(), "excess_blob_gas", 0) or 0)
        fee = fake_exponential(MIN_BLOB_BASE_FEE, excess, BLOB_BASE_FEE_UPDATE_FRACTION_PRAGUE)
        return to_quantity(int(fee))

    @rpc_method("maxPriorityFeePerGas")
    def max_priority_fee_per_gas(self) -> str:
        return "0x0"

    @rpc_method(
        "feeHistory",
        p.Param("block_count", p.block_count),
        p.Param("newest_block", p.block_ref),
        p.Param("reward_percentiles", p.percentiles, default=()),
    )
    def fee_history(
        self, count: int, newest_ref: p.BlockRef, percentiles: tuple[float, ...]
    ) -> Json:
        newest = resolve_state(self.ledger, newest_ref)
        count = min(count, MAX_FEE_HISTORY_BLOCKS, newest + 1)
        oldest = newest - count + 1
        base_fees: list[str] = []
        ratios: list[float] = []
        rewards: list[list[str]] = []
        header: BlockHeaderAPI | None = None
        for number in range(oldest, newest + 1):
            block = self.ledger.get_block_by_number(BlockNumber(number))
            header = block.header
            base_fees.append(to_quantity(int(getattr(header, "base_fee_per_gas", 0) or 0)))
            ratios.append(header.gas_used / header.gas_limit if header.gas_limit else 0.0)
            if percentiles:
                rewards.append(block_rewards(block, self.ledger.get_receipts(block), percentiles))
        result: Json = {"oldestBlock": to_quantity(oldest), "baseFeePerGas": [], "gasUsedRatio": []}
        if count == 0 or header is None:
            return result
        base_fees.append(to_quantity(next_base_fee(header)))
        result["baseFeePerGas"] = base_fees
        result["gasUsedRatio"] = ratios
        if percentiles:
            result["reward"] = rewards
        return result
