"""Polling filters: ``eth_newFilter``, ``eth_newBlockFilter``, ``eth_getFilterChanges``.

web3.py's ``create_filter`` and many tools poll instead of subscribing. New blocks arrive from
``LedgerAPI.subscribe`` on the committing thread, which must not block: the listener only
appends to per-filter buffers under a lock. Filters nobody polls for five minutes are dropped
(as geth does), and each buffer is bounded so a forgotten filter cannot grow without limit.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from eth.abc import BlockAPI, ReceiptAPI

from ledger.abc import LedgerAPI
from ledger.rpc import params as p
from ledger.rpc.dispatch import current_client
from ledger.rpc.errors import LimitExceeded, ResourceNotFound
from ledger.rpc.format import Json
from ledger.rpc.hexcodec import to_data
from ledger.rpc.logmatch import matching_logs
from ledger.rpc.modules.eth_logs import EthLogs
from ledger.rpc.registry import RPCModule, rpc_method

FILTER_TIMEOUT_S: Final = 300.0
#: All clients together (a memory bound); each client also has its own, smaller limit.
MAX_FILTERS: Final = 10_000
MAX_FILTERS_PER_CLIENT: Final = 100
MAX_BUFFERED: Final = 10_000


@dataclass
class _Filter:
    spec: p.FilterSpec | None  # None: a block filter
    owner: str = "local"
    changes: list[Any] = field(default_factory=list)
    polled: float = field(default_factory=time.monotonic)


def _filter_id(value: Any) -> str:
    if not isinstance(value, str) or len(value) > 66:
        raise ValueError("expected a filter id")
    return value.lower()


FILTER_ID = p.Param("filter_id", _filter_id)


class EthFilters(RPCModule):
    name = "eth"

    def __init__(
        self, ledger: LedgerAPI, logs: EthLogs, *, per_client: int = MAX_FILTERS_PER_CLIENT
    ) -> None:
        self.ledger = ledger
        self.per_client = per_client
        self.logs = logs
        self._filters: dict[str, _Filter] = {}
        self._lock = threading.Lock()
        self._unsubscribe: Callable[[], None] | None = None

    def close(self) -> None:
        with self._lock:
            if self._unsubscribe is not None:
                self._unsubscribe()
                self._unsubscribe = None
            self._filters.clear()

    def _install(self, spec: p.FilterSpec | None) -> str:
        with self._lock:
            self._expire()
            owner = current_client.get()
            # per client: one client's flood of filters must not use up everyone's room
            held = sum(1 for f in self._filters.values() if f.owner == owner)
            if held >= self.per_client:
                raise LimitExceeded(
                    f"limit exceeded: at most {self.per_client} filters per client",
                    data={"limit": self.per_client},
                )
            if len(self._filters) >= MAX_FILTERS:
                raise LimitExceeded(
                    f"limit exceeded: at most {MAX_FILTERS} filters", data={"limit": MAX_FILTERS}
                )
            if self._unsubscribe is None:
                self._unsubscribe = self.ledger.subscribe(self._on_block)
            filter_id = "0x" + secrets.token_hex(16)
            self._filters[filter_id] = _Filter(spec, owner=owner)
            return filter_id

    def drop_client(self, owner: str) -> None:
        """Uninstall the filters of a client that left (a closed WebSocket connection)."""
        with self._lock:
            for filter_id in [k for k, f in self._filters.items() if f.owner == owner]:
                del self._filters[filter_id]

    def _expire(self) -> None:
        deadline = time.monotonic() - FILTER_TIMEOUT_S
        for filter_id in [k for k, f in self._filters.items() if f.polled < deadline]:
            del self._filters[filter_id]

    def _on_block(self, block: BlockAPI, receipts: Sequence[ReceiptAPI]) -> None:
        with self._lock:
            filters = list(self._filters.values())
        number = block.header.block_number
        for flt in filters:
            if flt.spec is None:
                new: list[Any] = [to_data(block.header.hash)]
            elif flt.spec.to_block.number is not None and number > flt.spec.to_block.number:
                continue
            else:
                new = matching_logs(block, receipts, flt.spec)
            with self._lock:
                flt.changes.extend(new)
                del flt.changes[:-MAX_BUFFERED]

    def _get(self, filter_id: str) -> _Filter:
        flt = self._filters.get(filter_id)
        if flt is None:
            raise ResourceNotFound("filter not found", data={"filterId": filter_id})
        return flt

    @rpc_method("newFilter", p.Param("filter", p.log_filter))
    def new_filter(self, spec: p.FilterSpec) -> str:
        return self._install(spec)

    @rpc_method("newBlockFilter")
    def new_block_filter(self) -> str:
        return self._install(None)

    @rpc_method("getFilterChanges", FILTER_ID)
    def get_filter_changes(self, filter_id: str) -> list[Any]:
        with self._lock:
            flt = self._get(filter_id)
            changes, flt.changes = flt.changes, []
            flt.polled = time.monotonic()
        return changes

    @rpc_method("getFilterLogs", FILTER_ID)
    def get_filter_logs(self, filter_id: str) -> list[Json]:
        with self._lock:
            flt = self._get(filter_id)
            flt.polled = time.monotonic()
        if flt.spec is None:
            raise ResourceNotFound("filter not found", data={"filterId": filter_id})
        return self.logs.get_logs(flt.spec)

    @rpc_method("uninstallFilter", FILTER_ID)
    def uninstall_filter(self, filter_id: str) -> bool:
        with self._lock:
            return self._filters.pop(filter_id, None) is not None
