"""p2p link benchmark: handshakes per second and frame throughput over a real loopback link.

Both ends run in this process on one event loop, over a real TCP connection on loopback:
``ledger.p2p.handshake.initiate`` / ``respond`` open the link, then the sender writes
``Session.seal`` frames (draining every few frames, as the transport's bounded buffer
would) and the receiver reads them with ``read_raw`` + ``Session.open``. Sender and
receiver share one core, so the rates are what one validator's event loop spends on both
directions of a link: the framing's cryptography plus TCP on loopback.

Two framings, measured in the same run on the same link setup:

- ``encrypted``: the product's (issue 14): ChaCha20-Poly1305 frames under per-direction
  keys from the X25519 handshake;
- ``signed_v1``: the reference, the framing it replaced (:mod:`bench._p2p_signed`): clear
  frames, each signed with secp256k1 and recovered by the receiver.

Sizes: 200 B (a vote), 4 KiB (a small gossip batch of transactions), 1 MiB (a sync reply).
``BENCH_P2P_SECONDS`` (default 2) bounds each measurement.
"""

from __future__ import annotations

import asyncio
import os
import time
from typing import Any, Protocol

from bench._p2p_signed import SignedSession
from ledger.p2p.framing import Kind, read_raw
from ledger.p2p.handshake import initiate, respond
from ledger.p2p.keys import NodeKey

CHAIN = 4242
SIZES = (200, 4096, 1 << 20)
DRAIN_EVERY_BYTES = 1 << 20
STREAM_LIMIT = 32 << 20
A = NodeKey(b"\x61" * 32)
B = NodeKey(b"\x62" * 32)


class _Framing(Protocol):
    def seal(self, kind: Kind, payload: bytes) -> bytes: ...

    def open(self, body: bytes) -> tuple[Kind, bytes]: ...


Link = tuple[_Framing, asyncio.StreamWriter, _Framing, asyncio.StreamReader, asyncio.Server]


async def _connect(
    serve: Any,
) -> tuple[asyncio.StreamReader, asyncio.StreamWriter, asyncio.Server]:
    server = await asyncio.start_server(serve, "127.0.0.1", 0, limit=STREAM_LIMIT)
    port = server.sockets[0].getsockname()[1]
    reader, writer = await asyncio.open_connection("127.0.0.1", port, limit=STREAM_LIMIT)
    return reader, writer, server


async def _encrypted_link() -> Link:
    accepted: asyncio.Future[tuple[_Framing, asyncio.StreamReader]] = (
        asyncio.get_running_loop().create_future()
    )

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        session = await respond(reader, writer, key=B, chain_id=CHAIN, known={A.address})
        accepted.set_result((session, reader))

    reader, writer, server = await _connect(serve)
    mine = await initiate(reader, writer, key=A, chain_id=CHAIN, expected=B.address)
    theirs, their_reader = await accepted
    return mine, writer, theirs, their_reader, server


async def _signed_link() -> Link:
    accepted: asyncio.Future[asyncio.StreamReader] = asyncio.get_running_loop().create_future()

    async def serve(reader: asyncio.StreamReader, _: asyncio.StreamWriter) -> None:
        accepted.set_result(reader)

    _, writer, server = await _connect(serve)
    sid = os.urandom(32)
    mine = SignedSession(key=A, peer=B.address, session_id=sid)
    theirs = SignedSession(key=B, peer=A.address, session_id=sid)
    return mine, writer, theirs, await accepted, server


async def _handshakes(seconds: float) -> dict[str, Any]:
    count = 0
    started = time.perf_counter()
    while time.perf_counter() - started < seconds:
        _, writer, _, _, server = await _encrypted_link()
        writer.close()
        server.close()
        count += 1
    elapsed = time.perf_counter() - started
    return {"handshakes": count, "handshakes_per_s": round(count / elapsed, 1)}


async def _throughput(link: Link, size: int, seconds: float) -> dict[str, Any]:
    sender, writer, receiver, reader, server = link
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
    runs: dict[str, list[dict[str, Any]]] = {"encrypted": [], "signed_v1": []}
    for size in SIZES:  # interleaved, so machine load hits both alike
        runs["encrypted"].append(await _throughput(await _encrypted_link(), size, seconds))
        runs["signed_v1"].append(await _throughput(await _signed_link(), size, seconds))
    speedup = [
        round(e["frames_per_s"] / s["frames_per_s"], 2)
        for e, s in zip(runs["encrypted"], runs["signed_v1"], strict=True)
    ]
    return {
        "handshake_encrypted": await _handshakes(seconds),
        "throughput": runs,
        "encrypted_over_signed_v1_frames_per_s": dict(zip(map(str, SIZES), speedup, strict=True)),
        "load_average_1m": round(os.getloadavg()[0], 2),
    }


def run() -> dict[str, Any]:
    return asyncio.run(_run())
