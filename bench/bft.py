"""BFT benchmark: committed contract calls per second and commit latency, 1 / 4 / 7 validators.

Every configuration runs real ``medledger ledger run`` processes on loopback from
``ledger init --validators N`` (1 is the single-validator node, the production path for a
consortium of one). The load is ``Probe.store`` calls, pre-signed, from
``BENCH_BFT_SENDERS`` accounts; sender ``s`` always submits to validator ``s mod N`` over
HTTP, so transactions enter through every validator and gossip. The load is **open loop**
(:mod:`bench._open_loop`): transaction ``i`` is due at ``start + i / rate`` whatever the
chain does, and its latency counts from that due time. Two phases per configuration, on
the same processes:

1. **steady**: ``BENCH_BFT_RATE`` tx/s (default 120, above the issue's 100) offered for
   ``BENCH_BFT_SECONDS`` (default 15); then the bench waits (bounded) until every
   transaction is committed. Reports offered and committed rates and commit latency
   p50/p99: due time of the transaction -> validator 0 announces (WebSocket
   ``newHeads``, sent after the block is committed, i.e. final) the block holding it.
2. **saturation**: ``BENCH_BFT_SAT_RATE`` tx/s (default 400, above what the chain can
   commit here) for ``BENCH_BFT_SAT_SECONDS`` (default 5), then the bench waits (bounded)
   until all are committed. The committed rate is the count over the time from the first
   due time to the announcement of the last of them: the chain works through a backlog,
   so this is the most it commits (including the fill and drain of the pipeline).

Every validator executes every block and the machine has 2 cores (shared with other
work), so N validators share the CPU N ways: each N-validator rate is also given as a
ratio of the 1-validator rate of the same run, and the CPU seconds of all validator
processes (and of this load generator, which shares the cores) are reported.
"""

from __future__ import annotations

import asyncio
import json
import math
import os
import re
import signal
import statistics
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from eth_account import Account
from eth_utils.crypto import keccak

from bench._chain_client import (
    Client,
    HeadWatcher,
    cpu_seconds,
    deploy,
    latency_summary,
    session,
)
from bench._chain_workload import make_workload
from bench._open_loop import Offered, offer
from tests.integration.bft_cluster import free_ports
from tests.integration.nodeproc import PASSPHRASE, NodeProcess, medledger, start_node

SIZES = (1, 4, 7)
_COMMITTED = re.compile(r"committed block #\d+ 0x[0-9a-f]+ round (\d+)")
#: Loopback timeouts (ms). None of them is waited for on the happy path (a height goes on
#: as soon as the proposal or a 2/3 quorum arrives); they bound how long a lost round takes.
#: timeoutPropose also bounds the block a proposer builds (``ledger.p2p.block_budget``: half
#: of it at the measured speed), so it stays at CometBFT's 3 s: big blocks, few lost rounds.
TIMEOUTS = {
    "propose_ms": 3000,
    "propose_delta_ms": 500,
    "prevote_ms": 300,
    "prevote_delta_ms": 200,
    "precommit_ms": 300,
    "precommit_delta_ms": 200,
}
GOSSIP_MS = 200
DRAIN_TIMEOUT_S = 180


def _senders(count: int) -> list[Any]:
    """Deterministic sender accounts (keystores would cost a scrypt each to write and read)."""
    return [Account.from_key(keccak(text=f"bench-bft-sender-{i}")) for i in range(count)]


def _consortium(directory: Path, n: int, senders: list[Any]) -> list[Path]:
    """``ledger init`` (one keystore account: the deployer), senders added to its genesis."""
    args = ["ledger", "init", "--out", str(directory), "--accounts", "1"]
    medledger(*args, "--validators", str(n), "--json")
    genesis_path = directory / "genesis.json"
    genesis = json.loads(genesis_path.read_text())
    balance = genesis["accounts"][-1]["balance"]
    genesis["accounts"] += [
        {"address": s.address, "balance": balance, "kind": "member"} for s in senders
    ]
    genesis_path.write_text(json.dumps(genesis, indent=2))
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
        config["p2p"]["gossip_ms"] = GOSSIP_MS
        path.write_text(json.dumps(config))
    return [directory / f"node{i}" for i in range(n)]


def _deployer(directory: Path) -> Any:
    document = json.loads((directory / "account0.keystore.json").read_text())
    return Account.from_key(Account.decrypt(document, PASSPHRASE))


class _Cluster:
    """The running validators and the CPU they used between two marks."""

    def __init__(self, nodes: list[NodeProcess]) -> None:
        self.nodes = nodes
        self._mark = 0.0
        self._client_mark = 0.0

    def mark(self) -> None:
        self._mark = sum(cpu_seconds(node.proc.pid) for node in self.nodes)
        self._client_mark = time.process_time()

    def cpu(self) -> dict[str, float]:
        used = sum(cpu_seconds(node.proc.pid) for node in self.nodes) - self._mark
        return {
            "validators_cpu_s": round(used, 2),
            "load_generator_cpu_s": round(time.process_time() - self._client_mark, 2),
        }


def _offered_summary(offered: Offered) -> dict[str, Any]:
    span = offered.last_due - offered.started
    lags = sorted(offered.send_lag_s)
    return {
        "offered": len(offered.due),
        "offered_tps": round((len(offered.due) - 1) / span, 1) if span > 0 else None,
        "rejected": len(offered.rejected),
        "rejected_examples": list(offered.rejected.values())[:3],
        "send_lag_p99_ms": round(lags[int(0.99 * (len(lags) - 1))] * 1000, 1) if lags else None,
    }


async def _steady(
    cluster: _Cluster, heads: HeadWatcher, client: Client, load: list[Any], rate: float
) -> dict[str, Any]:
    cluster.mark()
    blocks_before = len(heads.blocks)
    offered = await offer(client, load, rate=rate)
    accepted = set(offered.due) - set(offered.rejected)
    complete = await heads.wait_all(accepted, DRAIN_TIMEOUT_S)
    included = {h: heads.included[h] for h in offered.due if h in heads.included}
    span = max(included.values()) - offered.started if included else math.inf
    sizes = [size for _, size in heads.blocks[blocks_before:] if size]
    return {
        **_offered_summary(offered),
        "committed": len(included),
        "all_committed": complete,
        "committed_tps": round(len(included) / span, 1),
        **latency_summary(offered.due, included),
        "blocks": len(sizes),
        "mean_block_size": round(statistics.fmean(sizes), 1) if sizes else 0,
        **cluster.cpu(),
    }


async def _saturation(
    cluster: _Cluster, heads: HeadWatcher, client: Client, load: list[Any], rate: float
) -> dict[str, Any]:
    cluster.mark()
    blocks_before = len(heads.blocks)
    offered = await offer(client, load, rate=rate)
    complete = await heads.wait_all(set(offered.due) - set(offered.rejected), DRAIN_TIMEOUT_S)
    included = [heads.included[h] for h in offered.due if h in heads.included]
    span = max(included) - offered.started if included else math.inf
    sizes = [size for _, size in heads.blocks[blocks_before:] if size]
    return {
        **_offered_summary(offered),
        "committed": len(included),
        "all_committed": complete,
        "seconds_to_commit_all": round(span, 2),
        "committed_tps": round(len(included) / span, 1),
        "blocks": len(sizes),
        "mean_block_size": round(statistics.fmean(sizes), 1) if sizes else 0,
        **cluster.cpu(),
    }


async def _drive(
    nodes: list[NodeProcess], steady: list[Any], saturating: list[Any], rates: tuple[float, float]
) -> dict[str, Any]:
    async with session(connections=80) as client:
        async with HeadWatcher(client, nodes[0].url, nodes[0].ws_url) as heads:
            cluster = _Cluster(nodes)
            return {
                "steady": await _steady(cluster, heads, client, steady, rates[0]),
                "saturation": await _saturation(cluster, heads, client, saturating, rates[1]),
            }


def _one(root: Path, n: int, settings: dict[str, Any]) -> dict[str, Any]:
    directory = root / f"v{n}"
    senders = settings["senders"]
    steady_count = int(settings["rate"] * settings["seconds"])
    sat_count = int(settings["sat_rate"] * settings["sat_seconds"])
    per_sender = math.ceil((steady_count + sat_count) / senders)
    accounts = _senders(senders)
    configs = _consortium(directory, n, accounts)
    workload = make_workload(_deployer(directory), accounts, per_sender)
    # one stream in nonce order per sender, senders interleaved; sender s -> validator s mod n
    stream = [(s, workload.per_sender[s][k]) for k in range(per_sender) for s in range(senders)]
    with ThreadPoolExecutor(n) as pool:
        nodes = list(pool.map(lambda c: start_node(c, c / "data", timeout=120), configs))
    try:
        targets = [(nodes[s % n].url, raw) for s, raw in stream]
        asyncio.run(deploy(nodes[0].url, workload))
        result = asyncio.run(
            _drive(
                nodes,
                targets[:steady_count],
                targets[steady_count : steady_count + sat_count],
                (settings["rate"], settings["sat_rate"]),
            )
        )
    finally:
        for node in nodes:
            node.stop(signal.SIGTERM)
    # ledger.executions logs every block executed a second time by a validator
    reexecuted = sum(node.log().count("executed again") for node in nodes)
    rounds = [int(r) for r in _COMMITTED.findall(nodes[0].log())]
    return {
        "validators": n,
        **result,
        "block_reexecutions_logged": reexecuted,
        "blocks_decided_after_round_0": sum(1 for r in rounds if r > 0),
    }


def run() -> dict[str, Any]:
    settings = {
        "senders": int(os.environ.get("BENCH_BFT_SENDERS", "48")),
        "rate": float(os.environ.get("BENCH_BFT_RATE", "120")),
        "seconds": float(os.environ.get("BENCH_BFT_SECONDS", "15")),
        "sat_rate": float(os.environ.get("BENCH_BFT_SAT_RATE", "400")),
        "sat_seconds": float(os.environ.get("BENCH_BFT_SAT_SECONDS", "5")),
    }
    sizes = tuple(int(n) for n in os.environ.get("BENCH_BFT_SIZES", "1,4,7").split(","))
    with tempfile.TemporaryDirectory(prefix="bench-bft-") as tmp:
        runs = {n: _one(Path(tmp), n, settings) for n in sizes}
    for phase in ("steady", "saturation"):
        base = runs[1][phase]["committed_tps"] if 1 in runs else None
        for result in runs.values():
            rate = result[phase]["committed_tps"]
            ratio = round(rate / base, 3) if base else None
            result[f"{phase}_tps_ratio_to_1_validator"] = ratio
    return {
        "workload": {
            "kind": "Probe.store(uint256) contract calls, pre-signed, open loop",
            "senders": settings["senders"],
            "sender_to_validator": "sender s submits to validator s mod N over HTTP",
            "steady": f"{settings['rate']} tx/s offered for {settings['seconds']} s",
            "saturation": f"{settings['sat_rate']} tx/s offered for {settings['sat_seconds']} s",
            "latency": (
                "due time of the transaction (open-loop schedule) -> validator 0 announces"
                " over WebSocket newHeads the committed (final) block holding it"
            ),
            "saturation_rate": (
                "transactions of the saturating offer / (announcement of the last of them"
                " - due time of the first)"
            ),
        },
        "consensus_timeouts_ms": TIMEOUTS,
        "gossip_ms": GOSSIP_MS,
        "cpu_cores": os.cpu_count(),
        "runs": [runs[n] for n in sizes],
    }
