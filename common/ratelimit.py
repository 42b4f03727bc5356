"""Per-client-address rate limits (token buckets) for the routes anyone can call.

Sign-in challenges and the node's peer routes need no credential, so without a limit one
client can make the server do unbounded work (and fill the challenge store). Each rule keeps
one bucket per client address; a request takes a token or gets 429 with ``Retry-After``.
The buckets live in a bounded LRU map: forgetting an idle client only refills its bucket.
"""

from __future__ import annotations

import math
import re
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from starlette.types import ASGIApp, Receive, Scope, Send

from common.errors import error_response, status_code_name

TOO_MANY_REQUESTS = 429
#: Client addresses remembered per rule (an idle one forgotten only gets a full bucket).
MAX_CLIENTS = 65_536


class TokenBucket:
    """``burst`` tokens per key, refilled at ``rate`` tokens per second; thread-safe.

    Parameters
    ----------
    rate
        Tokens added per second (the sustained request rate).
    burst
        Bucket size: requests allowed at once after a quiet period.
    clock
        Monotonic seconds (injectable for tests).
    """

    def __init__(self, *, rate: float, burst: int,
                 clock: Callable[[], float] = time.monotonic,
                 max_keys: int = MAX_CLIENTS) -> None:  # fmt: skip
        if rate <= 0 or burst < 1:
            raise ValueError("rate must be positive and burst at least 1")
        self.rate, self.burst, self._clock, self._max = rate, burst, clock, max_keys
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()
        self._lock = threading.Lock()

    def take(self, key: str) -> float:
        """Take a token for ``key``: 0.0 when granted, else the seconds until one is free."""
        now = self._clock()
        with self._lock:
            tokens, then = self._buckets.pop(key, (float(self.burst), now))
            tokens = min(float(self.burst), tokens + (now - then) * self.rate)
            wait = 0.0 if tokens >= 1.0 else (1.0 - tokens) / self.rate
            self._buckets[key] = (tokens - 1.0 if wait == 0.0 else tokens, now)
            while len(self._buckets) > self._max:
                self._buckets.popitem(last=False)
        return wait


@dataclass(frozen=True, slots=True)
class RateRule:
    """Requests whose method is in ``methods`` and whose path fully matches ``path``."""

    path: str
    methods: frozenset[str]
    bucket: TokenBucket


class RateLimitMiddleware:
    """Answer 429 (with ``Retry-After``) to a client address over a rule's rate.

    The first matching rule decides; paths no rule matches are not limited. The address is
    the connection's peer (``scope["client"]``): behind a reverse proxy, limit there.
    """

    def __init__(self, app: ASGIApp, *, rules: Sequence[RateRule]) -> None:
        self.app = app
        self._rules = [(re.compile(r.path), r) for r in rules]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            for pattern, rule in self._rules:
                if scope["method"] in rule.methods and pattern.fullmatch(scope["path"]):
                    wait = rule.bucket.take(_client(scope))
                    if wait > 0.0:
                        await _refuse(wait, scope, receive, send)
                        return
                    break
        await self.app(scope, receive, send)


def _client(scope: Scope) -> str:
    client = scope.get("client")
    return str(client[0]) if client else "unknown"


async def _refuse(wait: float, scope: Scope, receive: Receive, send: Send) -> None:
    seconds = max(1, math.ceil(wait))
    response = error_response(
        status_code_name(TOO_MANY_REQUESTS),
        f"too many requests from this address; retry in {seconds} s",
        TOO_MANY_REQUESTS,
        {"Retry-After": str(seconds)},
    )
    await response(scope, receive, send)
