"""Drive an Ethereum JSON-RPC endpoint with the workload and time it (chain and BFT benches).

Clients submit pre-signed transactions over HTTP (one ``eth_sendRawTransaction`` per
request, as wallets and web3.py do), with aiohttp: the load generator shares the machine's
two cores with the server(s) it measures, and aiohttp costs ~0.2 ms of client CPU per
request where httpx costs ~5 ms (measured here, same loopback server). A
:class:`HeadWatcher` holds a WebSocket ``newHeads`` subscription and stamps when each block
arrives; the transactions of each announced block are looked up concurrently, so a slow
lookup never delays the stamp of the next head. A transaction's latency is the stamp of
the block holding it minus the moment its submission started (or was scheduled to start,
for an open-loop load).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import statistics
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import aiohttp
import websockets
from eth_utils.crypto import keccak

from bench._chain_workload import Workload

TIMEOUT_S = 600


#: Transport errors worth one more try: a kept-alive connection the server had just closed.
RETRYABLE = (aiohttp.ServerDisconnectedError, aiohttp.ClientOSError, aiohttp.ClientPayloadError)
Client = aiohttp.ClientSession


def session(*, connections: int, timeout: float = 120) -> Client:
    """An HTTP client session with at most ``connections`` connections (open it with async with)."""
    return aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(limit=connections),
        timeout=aiohttp.ClientTimeout(total=timeout),
    )


async def rpc(client: Client, url: str, method: str, params: list[Any], *, retries: int = 2) -> Any:
    """One JSON-RPC call; raises ``RuntimeError`` with the server's error.

    A request that fails in transport is sent again (at most ``retries`` times); for
    ``eth_sendRawTransaction`` an "already known" answer to a retry means the first one
    got through.
    """
    body = {"jsonrpc": "2.0", "id": 1, "method": method, "params": params}
    for attempt in range(retries + 1):  # bounded
        try:
            async with client.post(url, json=body) as response:
                answer = await response.json(content_type=None)
        except RETRYABLE:
            if attempt == retries:
                raise
            continue
        if "error" in answer:
            if attempt and "already known" in str(answer["error"]).lower():
                return None
            raise RuntimeError(f"{method}: {answer['error']}")
        return answer["result"]
    raise AssertionError("unreachable")


def tx_hash(raw: bytes) -> str:
    return "0x" + keccak(raw).hex()


async def wait_receipt(client: Client, url: str, hash_: str) -> dict[str, Any]:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        receipt = await rpc(client, url, "eth_getTransactionReceipt", [hash_])
        if receipt is not None:
            return dict(receipt)
        await asyncio.sleep(0.05)
    raise TimeoutError(f"no receipt for {hash_}")


async def deploy(url: str, workload: Workload) -> None:
    async with session(connections=2) as client:
        hash_ = await rpc(client, url, "eth_sendRawTransaction", ["0x" + workload.deploy_raw.hex()])
        receipt = await wait_receipt(client, url, hash_)
        expected = workload.probe_address.lower()
        if receipt["status"] != "0x1" or receipt["contractAddress"] != expected:
            raise RuntimeError(f"deployment failed: {receipt}")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time a process has used so far (Linux ``/proc``)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


def latency_summary(submitted: dict[str, float], included: dict[str, float]) -> dict[str, Any]:
    """p50/p99/mean of ``included - submitted`` (ms) over the included transactions."""
    latencies = [included[h] - submitted[h] for h in included if h in submitted]
    if not latencies:
        return {"latency_p50_ms": None, "latency_p99_ms": None, "latency_mean_ms": None}
    return {
        "latency_p50_ms": round(percentile(latencies, 50) * 1000, 1),
        "latency_p99_ms": round(percentile(latencies, 99) * 1000, 1),
        "latency_mean_ms": round(statistics.fmean(latencies) * 1000, 1),
    }


class HeadWatcher:
    """Stamps each ``newHeads`` announcement; maps transaction hashes to their block's stamp.

    Use as ``async with HeadWatcher(client, url, ws_url) as heads:``; ``heads.included``
    fills as blocks arrive, ``heads.blocks`` holds ``(stamp, transaction count)``.
    """

    def __init__(self, client: Client, url: str, ws_url: str) -> None:
        self._client = client
        self._url = url
        self._ws_url = ws_url
        self.included: dict[str, float] = {}
        self.blocks: list[tuple[float, int]] = []
        self._wanted: set[str] = set()
        self._changed = asyncio.Event()
        self._fetches: set[asyncio.Task[None]] = set()
        self._task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> HeadWatcher:
        ready = asyncio.Event()
        self._task = asyncio.create_task(self._watch(ready))
        await asyncio.wait_for(ready.wait(), 30)
        return self

    async def __aexit__(self, *exc: object) -> None:
        for task in [self._task, *self._fetches]:
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task

    async def _watch(self, ready: asyncio.Event) -> None:
        async with websockets.connect(self._ws_url, max_size=None) as ws:
            sub = {"jsonrpc": "2.0", "id": 1, "method": "eth_subscribe", "params": ["newHeads"]}
            await ws.send(json.dumps(sub))
            json.loads(await ws.recv())
            ready.set()
            while True:
                message = json.loads(await ws.recv())
                stamp = time.perf_counter()
                number = message["params"]["result"]["number"]
                task = asyncio.create_task(self._fetch(number, stamp))
                self._fetches.add(task)
                task.add_done_callback(self._fetches.discard)

    async def _fetch(self, number: str, stamp: float) -> None:
        block = await rpc(self._client, self._url, "eth_getBlockByNumber", [number, False])
        self.blocks.append((stamp, len(block["transactions"])))
        for hash_ in block["transactions"]:
            self.included.setdefault(hash_, stamp)
        self._changed.set()

    async def wait_all(self, hashes: set[str], timeout: float = TIMEOUT_S) -> bool:
        """Wait until every hash is included; ``False`` if ``timeout`` passed first."""
        deadline = time.monotonic() + timeout
        while not hashes <= self.included.keys():
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            self._changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), left)
        return True


def _send_body(raws: list[bytes]) -> bytes:
    calls = [
        {"jsonrpc": "2.0", "id": i, "method": "eth_sendRawTransaction", "params": ["0x" + r.hex()]}
        for i, r in enumerate(raws)
    ]
    return json.dumps(calls[0] if len(calls) == 1 else calls).encode()


class _Connection:
    """A minimal HTTP/1.1 keep-alive client for pre-encoded JSON POSTs to ``/``."""

    def __init__(self, url: str) -> None:
        parts = urlsplit(url)
        self._host, self._port = parts.hostname or "127.0.0.1", parts.port or 80
        self._head = (
            f"POST / HTTP/1.1\r\nHost: {parts.netloc}\r\n"
            "Content-Type: application/json\r\nContent-Length: "
        ).encode()

    async def __aenter__(self) -> _Connection:
        self._reader, self._writer = await asyncio.open_connection(self._host, self._port)
        return self

    async def __aexit__(self, *_exc: object) -> None:
        self._writer.close()

    async def post(self, body: bytes) -> bytes:
        self._writer.write(self._head + str(len(body)).encode() + b"\r\n\r\n" + body)
        header = await self._reader.readuntil(b"\r\n\r\n")
        status = header.split(b" ", 2)[1]
        if status != b"200":
            raise RuntimeError(f"HTTP {status.decode()}: {header[:200]!r}")
        fields = dict(line.split(b":", 1) for line in header.split(b"\r\n")[1:] if b":" in line)
        fields = {k.strip().lower(): v.strip() for k, v in fields.items()}
        if b"content-length" in fields:
            return await self._reader.readexactly(int(fields[b"content-length"]))
        chunks = []  # chunked transfer encoding
        while size := int((await self._reader.readuntil(b"\r\n")).strip(), 16):
            chunks.append(await self._reader.readexactly(size))
            await self._reader.readexactly(2)
        await self._reader.readuntil(b"\r\n")
        return b"".join(chunks)


async def drive(
    url: str, ws_url: str, workload: Workload, *, pid: int, batch: int = 1
) -> dict[str, Any]:
    """Closed loop: every client submits its sender's calls one after the other.

    Requests are encoded before the clock starts and each client sends over one keep-alive
    raw HTTP connection, so the clients (which share the machine's cores with the server)
    spend their CPU on I/O, not on encoding. ``batch`` > 1 sends that many transactions per
    JSON-RPC batch request. Returns throughput, latency, and the CPU time of the server
    process ``pid`` and of the clients (this process) while the workload runs: the machine
    is shared, so CPU time is the steadier figure.
    """
    submitted: dict[str, float] = {}
    wanted = {tx_hash(raw) for txs in workload.per_sender for raw in txs}
    go = asyncio.Event()

    async def submit(txs: list[bytes]) -> None:
        hashes = [tx_hash(raw) for raw in txs]
        bodies = [_send_body(txs[i : i + batch]) for i in range(0, len(txs), batch)]
        await go.wait()
        async with _Connection(url) as connection:
            for i, body in enumerate(bodies):
                stamp = time.perf_counter()
                for hash_ in hashes[i * batch : (i + 1) * batch]:
                    submitted[hash_] = stamp
                answer = await connection.post(body)
                if b'"error"' in answer:
                    raise RuntimeError(f"eth_sendRawTransaction: {answer[:300]!r}")

    async with session(connections=4) as client:
        async with HeadWatcher(client, url, ws_url) as heads:
            submitters = [asyncio.create_task(submit(txs)) for txs in workload.per_sender]
            await asyncio.sleep(0.2)  # let every client encode its requests
            started = time.perf_counter()
            cpu_started = cpu_seconds(pid)
            client_cpu_started = time.process_time()
            go.set()
            await asyncio.gather(*submitters)
            submit_end = time.perf_counter()
            if not await heads.wait_all(wanted):
                raise TimeoutError(f"not all transactions included within {TIMEOUT_S} s")
            cpu = cpu_seconds(pid) - cpu_started
            client_cpu = time.process_time() - client_cpu_started
            included = {h: heads.included[h] for h in wanted}
            blocks = len(heads.blocks)
    finished = max(included.values())
    return {
        "transactions": len(included),
        "clients": len(workload.per_sender),
        "tps": round(len(included) / (finished - started), 1),
        "submit_tps": round(len(submitted) / (submit_end - started), 1),
        **latency_summary(submitted, included),
        "blocks": blocks,
        "server_cpu_s": round(cpu, 3),
        "client_cpu_s": round(client_cpu, 3),
        "transactions_per_request": batch,
        "tx_per_server_cpu_s": round(len(included) / cpu, 1),
    }
