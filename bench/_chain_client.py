"""Drive an Ethereum JSON-RPC endpoint with the workload and time it.

Concurrent clients each submit one sender's pre-signed transactions in nonce order over HTTP
(one ``eth_sendRawTransaction`` per request by default, as wallets and web3.py do; JSON-RPC
batches of several optionally), each over one keep-alive connection with requests encoded
in advance, so that the clients, which share the machine's cores with the server, cost as
little CPU as they can. A WebSocket
``newHeads`` subscription stamps when each block arrives; a transaction's inclusion latency
is that stamp minus the moment its submission started.
"""

from __future__ import annotations

import asyncio
import json
import os
import statistics
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import websockets
from eth_utils.crypto import keccak

from bench._chain_workload import Workload

TIMEOUT_S = 600


async def _rpc(client: httpx.AsyncClient, url: str, method: str, params: list[Any]) -> Any:
    body = {"jsonrpc": "2.0", "id": 1, "method": method, "params": params}
    answer = (await client.post(url, json=body)).json()
    if "error" in answer:
        raise RuntimeError(f"{method}: {answer['error']}")
    return answer["result"]


async def wait_receipt(client: httpx.AsyncClient, url: str, tx_hash: str) -> dict[str, Any]:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        receipt = await _rpc(client, url, "eth_getTransactionReceipt", [tx_hash])
        if receipt is not None:
            return dict(receipt)
        await asyncio.sleep(0.05)
    raise TimeoutError(f"no receipt for {tx_hash}")


async def deploy(url: str, workload: Workload) -> None:
    async with httpx.AsyncClient(timeout=60) as client:
        tx_hash = await _rpc(
            client, url, "eth_sendRawTransaction", ["0x" + workload.deploy_raw.hex()]
        )
        receipt = await wait_receipt(client, url, tx_hash)
        expected = workload.probe_address.lower()
        if receipt["status"] != "0x1" or receipt["contractAddress"] != expected:
            raise RuntimeError(f"deployment failed: {receipt}")


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


def cpu_seconds(pid: int) -> float:
    """User + system CPU time a process has used so far (Linux ``/proc``)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


async def drive(
    url: str, ws_url: str, workload: Workload, *, pid: int, batch: int = 1
) -> dict[str, Any]:
    """Submit everything concurrently; return throughput, latency and server CPU time.

    CPU time is that of the server process ``pid`` while the workload runs: the machine is
    shared, so it is the steadier figure. The clients' own CPU time (this process) is
    reported too: on two cores it competes with the server. ``batch`` > 1 sends that many
    transactions per JSON-RPC batch request.
    """
    submitted: dict[str, float] = {}
    included: dict[str, float] = {}
    wanted = {"0x" + keccak(raw).hex() for txs in workload.per_sender for raw in txs}
    done = asyncio.Event()
    blocks = 0
    limits = httpx.Limits(max_connections=len(workload.per_sender) + 4)

    async with httpx.AsyncClient(timeout=60, limits=limits) as client:
        fetches: list[asyncio.Task[None]] = []

        async def fetch(number: str, stamp: float) -> None:
            nonlocal blocks
            block = await _rpc(client, url, "eth_getBlockByNumber", [number, False])
            blocks += 1
            for tx_hash in block["transactions"]:
                if tx_hash in wanted and tx_hash not in included:
                    included[tx_hash] = stamp
            if len(included) == len(wanted):
                done.set()

        async def watch(ready: asyncio.Event) -> None:
            # stamp each head as it arrives; look its transactions up concurrently so a slow
            # lookup never delays the stamp of the next head
            async with websockets.connect(ws_url, max_size=None) as ws:
                sub = {"jsonrpc": "2.0", "id": 1, "method": "eth_subscribe", "params": ["newHeads"]}
                await ws.send(json.dumps(sub))
                json.loads(await ws.recv())
                ready.set()
                while not done.is_set():
                    message = json.loads(await ws.recv())
                    stamp = time.perf_counter()
                    number = message["params"]["result"]["number"]
                    fetches.append(asyncio.create_task(fetch(number, stamp)))

        async def submit(txs: list[bytes]) -> None:
            # requests are encoded before the clock starts and sent over one keep-alive
            # connection per client, so the client spends its CPU on I/O, not on encoding
            hashes = ["0x" + keccak(raw).hex() for raw in txs]
            bodies = [_send_body(txs[i : i + batch]) for i in range(0, len(txs), batch)]
            await go.wait()
            async with _Connection(url) as connection:
                for i, body in enumerate(bodies):
                    stamp = time.perf_counter()
                    for tx_hash in hashes[i * batch : (i + 1) * batch]:
                        submitted[tx_hash] = stamp
                    answer = await connection.post(body)
                    if b'"error"' in answer:
                        raise RuntimeError(f"eth_sendRawTransaction: {answer[:300]!r}")

        ready = asyncio.Event()
        watcher = asyncio.create_task(watch(ready))
        await asyncio.wait_for(ready.wait(), 30)
        go = asyncio.Event()
        submitters = [asyncio.create_task(submit(txs)) for txs in workload.per_sender]
        await asyncio.sleep(0.2)  # let every client encode its requests and connect
        started = time.perf_counter()
        cpu_started = cpu_seconds(pid)
        client_cpu_started = time.process_time()
        go.set()
        await asyncio.gather(*submitters)
        submit_end = time.perf_counter()
        try:
            await asyncio.wait_for(done.wait(), TIMEOUT_S)
            cpu = cpu_seconds(pid) - cpu_started
            client_cpu = time.process_time() - client_cpu_started
        finally:
            watcher.cancel()
            for task in fetches:
                task.cancel()
    finished = max(included.values())
    latencies = [included[h] - submitted[h] for h in included]
    return {
        "transactions": len(included),
        "clients": len(workload.per_sender),
        "tps": round(len(included) / (finished - started), 1),
        "submit_tps": round(len(submitted) / (submit_end - started), 1),
        "latency_p50_ms": round(_percentile(latencies, 50) * 1000, 1),
        "latency_p99_ms": round(_percentile(latencies, 99) * 1000, 1),
        "latency_mean_ms": round(statistics.fmean(latencies) * 1000, 1),
        "blocks": blocks,
        "server_cpu_s": round(cpu, 3),
        "client_cpu_s": round(client_cpu, 3),
        "transactions_per_request": batch,
        "tx_per_server_cpu_s": round(len(included) / cpu, 1),
    }
