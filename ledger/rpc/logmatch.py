"""Matching logs against a filter, for ``logs`` subscriptions fed by new blocks.

``eth_getLogs`` uses the ledger's index; a subscription sees each new block once, so it filters
that block's receipts directly.
"""

from __future__ import annotations

from collections.abc import Sequence

from eth.abc import BlockAPI, LogAPI, ReceiptAPI

from ledger.rpc.format import Json, format_log
from ledger.rpc.params import FilterSpec


def log_matches(log: LogAPI, spec: FilterSpec) -> bool:
    if spec.addresses and log.address not in spec.addresses:
        return False
    if len(spec.topics) > len(log.topics):
        return False
    for wanted, topic in zip(spec.topics, log.topics, strict=False):
        if wanted is not None and topic.to_bytes(32, "big") not in wanted:
            return False
    return True


def matching_logs(block: BlockAPI, receipts: Sequence[ReceiptAPI], spec: FilterSpec) -> list[Json]:
    """The logs of a new block that ``spec`` selects, formatted, in block order."""
    header = block.header
    out: list[Json] = []
    log_index = 0
    for tx_index, (tx, receipt) in enumerate(zip(block.transactions, receipts, strict=True)):
        for log in receipt.logs:
            if log_matches(log, spec):
                out.append(
                    format_log(
                        log,
                        log_index=log_index,
                        tx_hash=tx.hash,
                        tx_index=tx_index,
                        block_hash=header.hash,
                        block_number=header.block_number,
                    )
                )
            log_index += 1
    return out
