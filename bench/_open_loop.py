"""An open-loop load: transactions submitted on a fixed schedule, whatever the server does.

Transaction ``i`` is due at ``start + i / rate``. A closed loop (each client waits for its
answer before sending on) lets a slow server slow the load down and hides its queueing; an
open loop does not: a transaction's latency counts from the moment it was *due*, so a
server (or a client) that falls behind shows up as latency instead of as a lower offered
rate (no coordinated omission). Requests in flight are bounded (``concurrency``); a
request waiting for a free connection is still timed from its due time.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field

import aiohttp

from bench._chain_client import Client, rpc, tx_hash


@dataclass
class Offered:
    """What was offered: due time of every transaction, answers, and the client's lag."""

    due: dict[str, float] = field(default_factory=dict)
    rejected: dict[str, str] = field(default_factory=dict)  # hash -> error
    started: float = 0.0
    last_due: float = 0.0
    last_answer: float = 0.0
    #: how late requests were actually sent compared to their due time (client saturation)
    send_lag_s: list[float] = field(default_factory=list)


async def offer(
    client: Client,
    targets: list[tuple[str, bytes]],
    *,
    rate: float,
    concurrency: int = 64,
) -> Offered:
    """Submit ``(url, raw)`` pairs at ``rate`` per second, in order; return when all answered."""
    result = Offered()
    slots = asyncio.Semaphore(concurrency)
    tasks: list[asyncio.Task[None]] = []

    async def submit(url: str, raw: bytes, due: float) -> None:
        hash_ = tx_hash(raw)
        async with slots:
            result.send_lag_s.append(time.perf_counter() - due)
            try:
                await rpc(client, url, "eth_sendRawTransaction", ["0x" + raw.hex()])
            except (RuntimeError, aiohttp.ClientError, TimeoutError) as exc:
                result.rejected[hash_] = f"{type(exc).__name__}: {exc}"[:200]
            result.last_answer = max(result.last_answer, time.perf_counter())

    result.started = time.perf_counter()
    for i, (url, raw) in enumerate(targets):  # bounded: one pass over the targets
        due = result.started + i / rate
        delay = due - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        result.due[tx_hash(raw)] = due
        result.last_due = due
        tasks.append(asyncio.create_task(submit(url, raw, due)))
    await asyncio.gather(*tasks)
    return result
