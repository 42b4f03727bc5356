"""BFT benchmark: committed contract calls per second and commit latency, 1 / 4 / 7 validators.

Every configuration runs real ``medledger ledger run`` processes on loopback from
``ledger init --validators N`` (1 is the single-validator node, the production path for a
consortium of one). The same workload shape (``Probe.store`` calls, pre-signed, from
``BENCH_BFT_SENDERS`` concurrent clients each sending ``BENCH_BFT_PER_SENDER`` calls in
nonce order) is submitted over HTTP, client ``s`` to validator ``s mod N``, so
transactions enter through every validator and gossip. A transaction's commit latency is
the moment validator 0 announces the block holding it (WebSocket ``newHeads``) minus the
start of its submission. Committed tx/s counts from the first submission to the last
inclusion.

Every validator executes every block and the machine has 2 cores (shared with other
work), so N validators share the CPU N ways: the N-validator rate is also given as a
ratio of the 1-validator rate of the same run, and the CPU seconds of all validator
processes are reported.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import statistics
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import websockets
from eth_account import Account
from eth_utils.crypto import keccak

from bench._chain_client import cpu_seconds, deploy
from bench._chain_workload import make_workload
from tests.integration.bft_cluster import free_ports
from tests.integration.nodeproc import PASSPHRASE, NodeProcess, medledger, start_node

SIZES = (1, 4, 7)
TIMEOUTS = {
    "propose_ms": 1000,
    "propose_delta_ms": 500,
    "prevote_ms": 500,
    "prevote_delta_ms": 250,
    "precommit_ms": 500,
    "precommit_delta_ms": 250,
}


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


def _consortium(directory: Path, n: int, senders: int) -> list[Path]:
    args = ["ledger", "init", "--out", str(directory), "--accounts", str(senders + 1)]
    medledger(*args, "--validators", str(n), "--json")
    if n == 1:
        return [directory]
    ports = free_ports(n)
    for i in range(n):
        path = directory / f"node{i}" / "node.json"
        config = json.loads(path.read_text())
        config["p2p"]["port"] = ports[i]
        for j, peer in enumerate(config["p2p"]["peers"]):
            peer["port"] = ports[j]
        config["p2p"]["timeouts"] = TIMEOUTS
        config["p2p"]["gossip_ms"] = 200
        path.write_text(json.dumps(config))
    return [directory / f"node{i}" for i in range(n)]


def _account(directory: Path, i: int) -> Any:
    document = json.loads((directory / f"account{i}.keystore.json").read_text())
    return Account.from_key(Account.decrypt(document, PASSPHRASE))


async def _rpc(client: httpx.AsyncClient, url: str, method: str, params: list[Any]) -> Any:
    body = {"jsonrpc": "2.0", "id": 1, "method": method, "params": params}
    answer = (await client.post(url, json=body)).json()
    if "error" in answer:
        raise RuntimeError(f"{method}: {answer['error']}")
    return answer["result"]


async def _drive(nodes: list[NodeProcess], per_sender: list[list[bytes]]) -> dict[str, Any]:
    submitted: dict[str, float] = {}
    included: dict[str, float] = {}
    wanted = {"0x" + keccak(raw).hex() for txs in per_sender for raw in txs}
    done = asyncio.Event()
    blocks: list[int] = []
    watch_url, ws_url = nodes[0].url, nodes[0].ws_url
    async with httpx.AsyncClient(timeout=120) as client:
        fetches: list[asyncio.Task[None]] = []

        async def fetch(number: str, stamp: float) -> None:
            block = await _rpc(client, watch_url, "eth_getBlockByNumber", [number, False])
            blocks.append(len(block["transactions"]))
            for tx_hash in block["transactions"]:
                if tx_hash in wanted and tx_hash not in included:
                    included[tx_hash] = stamp
            if len(included) == len(wanted):
                done.set()

        async def watch(ready: asyncio.Event) -> None:
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

        async def submit(url: str, txs: list[bytes]) -> None:
            for raw in txs:
                submitted["0x" + keccak(raw).hex()] = time.perf_counter()
                await _rpc(client, url, "eth_sendRawTransaction", ["0x" + raw.hex()])

        ready = asyncio.Event()
        watcher = asyncio.create_task(watch(ready))
        await asyncio.wait_for(ready.wait(), 30)
        pids = [node.proc.pid for node in nodes]
        cpu_started = sum(cpu_seconds(pid) for pid in pids)
        started = time.perf_counter()
        await asyncio.gather(
            *(submit(nodes[s % len(nodes)].url, txs) for s, txs in enumerate(per_sender))
        )
        try:
            await asyncio.wait_for(done.wait(), 600)
        finally:
            cpu = sum(cpu_seconds(pid) for pid in pids) - cpu_started
            watcher.cancel()
            for task in fetches:
                task.cancel()
    finished = max(included.values())
    latencies = [included[h] - submitted[h] for h in included]
    return {
        "transactions": len(included),
        "tps": round(len(included) / (finished - started), 1),
        "latency_p50_ms": round(_percentile(latencies, 50) * 1000, 1),
        "latency_p99_ms": round(_percentile(latencies, 99) * 1000, 1),
        "latency_mean_ms": round(statistics.fmean(latencies) * 1000, 1),
        "blocks": len(blocks),
        "mean_block_size": round(statistics.fmean(blocks), 1) if blocks else 0,
        "validators_cpu_s": round(cpu, 2),
    }


def _one(root: Path, n: int, senders: int, per_sender: int) -> dict[str, Any]:
    directory = root / f"v{n}"
    configs = _consortium(directory, n, senders)
    deployer = _account(directory, 0)
    clients = [_account(directory, i + 1) for i in range(senders)]
    workload = make_workload(deployer, clients, per_sender)
    with ThreadPoolExecutor(n) as pool:
        nodes = list(pool.map(lambda c: start_node(c, c / "data", timeout=120), configs))
    try:
        asyncio.run(deploy(nodes[0].url, workload))
        result = asyncio.run(_drive(nodes, workload.per_sender))
    finally:
        for node in nodes:
            node.stop(signal.SIGTERM)
    result["validators"] = n
    return result


def run() -> dict[str, Any]:
    senders = int(os.environ.get("BENCH_BFT_SENDERS", "8"))
    per_sender = int(os.environ.get("BENCH_BFT_PER_SENDER", "100"))
    with tempfile.TemporaryDirectory(prefix="bench-bft-") as tmp:
        runs = {n: _one(Path(tmp), n, senders, per_sender) for n in SIZES}
    base = runs[1]["tps"]
    for result in runs.values():
        result["tps_ratio_to_1_validator"] = round(result["tps"] / base, 3) if base else None
    return {
        "workload": {
            "kind": "Probe.store(uint256) contract calls, pre-signed",
            "clients": senders,
            "per_client": per_sender,
            "client_to_validator": "client s submits to validator s mod N",
            "latency": "submission start -> validator 0 announces the block (newHeads)",
        },
        "consensus_timeouts_ms": TIMEOUTS,
        "cpu_cores": os.cpu_count(),
        "runs": [runs[n] for n in SIZES],
    }
