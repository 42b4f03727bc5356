"""``eth_subscribe`` over WebSocket: ``newHeads`` and ``logs`` fed by ``LedgerAPI.subscribe``.

The ledger calls the hub's listener on its committing thread, which must not block, so the
listener only hands the block to the event loop. On the loop the hub formats each new block
once and queues notifications to each session. A subscription becomes active only after its
id has been queued as the response, so a client never sees a notification for an id it does
not know yet. A session whose queue overflows (a client that stops reading) is closed.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

import orjson
from eth.abc import BlockAPI, ReceiptAPI

from ledger.abc import LedgerAPI
from ledger.rpc import params as p
from ledger.rpc.errors import InvalidParams
from ledger.rpc.format import Json, format_header
from ledger.rpc.logmatch import matching_logs
from ledger.rpc.registry import BoundMethod

MAX_SUBSCRIPTIONS_PER_SESSION: Final = 100
SESSION_QUEUE: Final = 10_000
_CLOSE: Final = b""


@dataclass(frozen=True, slots=True)
class Subscription:
    kind: str
    spec: p.FilterSpec | None = None


def subscription_params(value: Any) -> str:
    if value not in ("newHeads", "logs"):
        raise ValueError(f"unsupported subscription {str(value)[:40]!r} (newHeads, logs)")
    return str(value)


@dataclass(eq=False)
class Session:
    """One WebSocket connection: its subscriptions and its ordered outgoing queue."""

    hub: SubscriptionHub
    queue: asyncio.Queue[bytes] = field(default_factory=lambda: asyncio.Queue(SESSION_QUEUE))
    active: dict[str, Subscription] = field(default_factory=dict)
    pending: dict[str, Subscription] = field(default_factory=dict)
    overflowed: bool = False

    def methods(self) -> dict[str, BoundMethod]:
        return {
            "eth_subscribe": BoundMethod(
                self._subscribe,
                (p.Param("kind", subscription_params), p.Param("filter", p.log_filter, None)),
            ),
            "eth_unsubscribe": BoundMethod(
                self._unsubscribe, (p.Param("subscription_id", _subscription_id),)
            ),
        }

    def _subscribe(self, kind: str, spec: p.FilterSpec | None) -> str:
        if len(self.active) + len(self.pending) >= MAX_SUBSCRIPTIONS_PER_SESSION:
            raise InvalidParams(f"at most {MAX_SUBSCRIPTIONS_PER_SESSION} subscriptions")
        if kind == "newHeads" and spec is not None:
            raise InvalidParams("newHeads takes no filter")
        sub_id = "0x" + secrets.token_hex(16)
        self.pending[sub_id] = Subscription(kind, (spec or _ANY_LOG) if kind == "logs" else None)
        return sub_id

    def _unsubscribe(self, sub_id: str) -> bool:
        return (self.active.pop(sub_id, None) or self.pending.pop(sub_id, None)) is not None

    def activate_pending(self) -> None:
        """Called on the loop after a response was queued: its new ids may now get events."""
        self.active.update(self.pending)
        self.pending.clear()

    def send(self, payload: bytes) -> None:
        if self.overflowed:
            return
        try:
            self.queue.put_nowait(payload)
        except asyncio.QueueFull:
            self.overflowed = True
            self.active.clear()
            self.queue.get_nowait()
            self.queue.put_nowait(_CLOSE)  # the sender task closes the socket


def _subscription_id(value: Any) -> str:
    if not isinstance(value, str) or len(value) > 66:
        raise ValueError("expected a subscription id")
    return value


_LATEST: Final = p.BlockRef(tag="latest")
_ANY_LOG: Final = p.FilterSpec(from_block=_LATEST, to_block=_LATEST, addresses=(), topics=())


class SubscriptionHub:
    """Fans committed blocks out to every session's subscriptions."""

    def __init__(self) -> None:
        self.sessions: set[Session] = set()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._unsubscribe: Callable[[], None] | None = None

    def start(self, ledger: LedgerAPI, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._unsubscribe = ledger.subscribe(self._on_block)

    def stop(self) -> None:
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None

    def open_session(self) -> Session:
        session = Session(self)
        self.sessions.add(session)
        return session

    def close_session(self, session: Session) -> None:
        self.sessions.discard(session)

    def _on_block(self, block: BlockAPI, receipts: Sequence[ReceiptAPI]) -> None:
        loop = self._loop
        if loop is not None and not loop.is_closed():
            loop.call_soon_threadsafe(self.publish, block, tuple(receipts))

    def publish(self, block: BlockAPI, receipts: Sequence[ReceiptAPI]) -> None:
        """Queue notifications for one committed block (runs on the event loop)."""
        head: Json | None = None
        for session in list(self.sessions):
            for sub_id, sub in list(session.active.items()):
                if sub.kind == "newHeads":
                    if head is None:
                        head = format_header(block.header)
                    session.send(_notification(sub_id, head))
                elif sub.spec is not None:
                    for log in matching_logs(block, receipts, sub.spec):
                        session.send(_notification(sub_id, log))


def _notification(sub_id: str, result: Json) -> bytes:
    return orjson.dumps(
        {
            "jsonrpc": "2.0",
            "method": "eth_subscription",
            "params": {"subscription": sub_id, "result": result},
        }
    )
