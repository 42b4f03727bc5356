"""``eth_getLogs``: filter resolution and limits; the ledger's log index does the search."""

from __future__ import annotations

from ledger.abc import LedgerAPI, LogFilter
from ledger.exceptions import BlockNotFound
from ledger.rpc import params as p
from ledger.rpc.errors import InvalidParams, LimitExceeded, ResourceNotFound
from ledger.rpc.format import Json
from ledger.rpc.registry import RPCModule, rpc_method
from ledger.rpc.resolve import resolve_number
from ledger.typing import BlockNumber

MAX_LOGS = 10_000


def resolve_filter(ledger: LedgerAPI, spec: p.FilterSpec) -> LogFilter | None:
    """The block range a filter covers, clamped to the head; ``None`` if it is empty."""
    if spec.block_hash is not None:
        try:
            number = ledger.get_block_by_hash(spec.block_hash).header.block_number
        except BlockNotFound:
            raise ResourceNotFound(
                "unknown block", data={"blockHash": "0x" + spec.block_hash.hex()}
            ) from None
        start = end = BlockNumber(number)
    else:
        head = ledger.head().block_number
        start = resolve_number(ledger, spec.from_block)
        end = resolve_number(ledger, spec.to_block)
        if start > end and spec.to_block.tag is None:
            raise InvalidParams(
                "invalid block range params: fromBlock is after toBlock",
                data={"param": "filter", "index": 0, "reason": "fromBlock > toBlock"},
            )
        end = BlockNumber(min(end, head))
        if start > end:
            return None
    return LogFilter(from_block=start, to_block=end, addresses=spec.addresses, topics=spec.topics)


class EthLogs(RPCModule):
    name = "eth"

    def __init__(self, ledger: LedgerAPI) -> None:
        self.ledger = ledger

    @rpc_method("getLogs", p.Param("filter", p.log_filter))
    def get_logs(self, spec: p.FilterSpec) -> list[Json]:
        log_filter = resolve_filter(self.ledger, spec)
        if log_filter is None:
            return []
        # the index keeps each log as its JSON object: returned as stored, not re-formatted
        logs = self.ledger.get_log_objects(log_filter, limit=MAX_LOGS)
        if len(logs) > MAX_LOGS:
            raise LimitExceeded(
                f"query returned more than {MAX_LOGS} results; narrow the block range",
                data={"limit": MAX_LOGS},
            )
        return logs
