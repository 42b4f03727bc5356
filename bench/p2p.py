"""p2p link benchmark: handshakes per second and frame throughput over a real loopback link.

Both ends run in this process on one event loop, over a real TCP connection on loopback:
``ledger.p2p.handshake.initiate`` / ``respond`` open the link, then the sender writes
``Session.seal`` frames (draining every few frames, as the transport's bounded buffer
would) and the receiver reads them with ``read_raw`` + ``Session.open``. Sender and
receiver share one core, so the rates are what one validator's event loop spends on both
directions of a link: the cost of the framing's cryptography (per-frame signatures before
issue 14, the AEAD after it) plus TCP on loopback.

Sizes: 200 B (a vote), 4 KiB (a small gossip batch of transactions), 1 MiB (a sync reply).
``BENCH_P2P_SECONDS`` (default 2) bounds each measurement.
"""

from __future__ import annotations

import asyncio
import os
import time
from typing import Any

from ledger.p2p.framing import Kind, Session, read_raw
from ledger.p2p.handshake import initiate, respond
from ledger.p2p.keys import NodeKey

CHAIN = 4242
SIZES = (200, 4096, 1 << 20)
DRAIN_EVERY_BYTES = 1 << 20
A = NodeKey(b"\x61" * 32)
B = NodeKey(b"\x62" * 32)


async def _link() -> tuple[Session, asyncio.StreamWriter, Session, asyncio.StreamReader, Any]:
    accepted: asyncio.Future[tuple[Session, asyncio.StreamReader]] = (
        asyncio.get_running_loop().create_future()
    )

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        session = await respond(reader, writer, key=B, chain_id=CHAIN, known={A.address})
        accepted.set_result((session, reader))

    server = await asyncio.start_server(serve, "127.0.0.1", 0, limit=32 << 20)
    port = server.sockets[0].getsockname()[1]
    reader, writer = await asyncio.open_connection("127.0.0.1", port, limit=32 << 20)
    mine = await initiate(reader, writer, key=A, chain_id=CHAIN, expected=B.address)
    theirs, their_reader = await accepted
    return mine, writer, theirs, their_reader, server


async def _handshakes(seconds: float) -> dict[str, Any]:
    count = 0
    started = time.perf_counter()
    while time.perf_counter() - started < seconds:
        _, writer, _, _, server = await _link()
        writer.close()
        server.close()
        count += 1
    elapsed = time.perf_counter() - started
    return {"handshakes": count, "handshakes_per_s": round(count / elapsed, 1)}


async def _throughput(size: int, seconds: float) -> dict[str, Any]:
    sender, writer, receiver, reader, server = await _link()
    payload = os.urandom(size)
    sent = 0

    async def receive(target: asyncio.Future[int]) -> None:
        received = 0
        while not target.done() or received < target.result():
            kind, body = receiver.open(await read_raw(reader))
            assert kind is Kind.TRANSACTIONS and len(body) == size
            received += 1

    target: asyncio.Future[int] = asyncio.get_running_loop().create_future()
    consumer = asyncio.create_task(receive(target))
    started = time.perf_counter()
    pending = 0
    while time.perf_counter() - started < seconds:
        writer.write(sender.seal(Kind.TRANSACTIONS, payload))
        sent += 1
        pending += size
        if pending >= DRAIN_EVERY_BYTES or sent % 64 == 0:
            await writer.drain()
            pending = 0
    target.set_result(sent)
    await writer.drain()
    await consumer
    elapsed = time.perf_counter() - started
    writer.close()
    server.close()
    return {
        "frame_bytes": size,
        "frames": sent,
        "frames_per_s": round(sent / elapsed, 1),
        "payload_mib_per_s": round(sent * size / elapsed / (1 << 20), 2),
    }


async def _run() -> dict[str, Any]:
    seconds = float(os.environ.get("BENCH_P2P_SECONDS", "2"))
    return {
        "framing": (Session.__doc__ or "").strip().splitlines()[0],
        "handshake": await _handshakes(seconds),
        "throughput": [await _throughput(size, seconds) for size in SIZES],
    }


def run() -> dict[str, Any]:
    return asyncio.run(_run())
