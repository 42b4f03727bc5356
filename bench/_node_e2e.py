"""End to end through real processes: HTTP ingest into a node, anchoring on a real chain.

The node is ``medledger node run``, the chain ``medledger ledger run``; a run ends when
every record's batch is final on chain.

The clock starts before the first request and stops when the node's outbox shows every
record of the run in an ``anchored`` batch (the node notes that only once the chain has the
batch root in a block, and our chain's blocks are final when committed). CPU seconds are
read from ``/proc/<pid>/stat`` for the node (with its worker processes) and the chain
process, and from ``os.times`` for this client process (which builds the request bodies
before the clock starts).
"""

from __future__ import annotations

import functools
import json
import os
import sqlite3
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
from hexbytes import HexBytes

from tests.integration.node_service_proc import NodeServiceProcess
from tests.node.chain_env import ChainEnv

CHUNK = 5000  # records per NDJSON request
_TICK = os.sysconf("SC_CLK_TCK")


def obs(i: int) -> bytes:
    """A small FHIR Observation (about 200 bytes), unique per ``i``."""
    return json.dumps({
        "resourceType": "Observation", "status": "final", "code": {"text": "heart rate"},
        "subject": {"reference": f"Patient/P-{i % 97}"}, "valueQuantity": {"value": i},
    }).encode()  # fmt: skip


def _descendants(pid: int) -> list[int]:
    out: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*/children"):
        for child in task.read_text().split():
            out.extend([int(child), *_descendants(int(child))])
    return out


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds so far of a process and its live descendants.

    The descendants matter: with ``ingest_workers`` the node seals on child processes (which
    live as long as the node, so none of their time is lost between two readings).
    """
    total = 0
    for each in [pid, *_descendants(pid)]:
        try:
            fields = Path(f"/proc/{each}/stat").read_text().rsplit(")", 1)[1].split()
        except FileNotFoundError:
            continue
        total += int(fields[11]) + int(fields[12])
    return total / _TICK


class Progress:
    """Reads the node's outbox (read-only, WAL) to see how far anchoring got."""

    def __init__(self, outbox_path: Path) -> None:
        self._db = sqlite3.connect(f"file:{outbox_path}?mode=ro", uri=True, timeout=30)

    def anchored(self) -> int:
        return int(self._db.execute(
            "SELECT coalesce(sum(size), 0) FROM batches WHERE state = 'anchored'"
        ).fetchone()[0])  # fmt: skip

    def last_batch(self) -> int:
        return int(self._db.execute("SELECT coalesce(max(batch_id), 0) FROM batches").fetchone()[0])

    def txs_since(self, batch_id: int) -> list[tuple[bytes, int]]:
        return list(self._db.execute(
            "SELECT tx_hash, size FROM batches WHERE batch_id > ? AND state = 'anchored'",
            (batch_id,),
        ))  # fmt: skip

    def close(self) -> None:
        self._db.close()


def chain_bytes(env: ChainEnv, txs: list[tuple[bytes, int]]) -> int:
    """Transaction input plus log topics and data of the given anchoring transactions."""
    from contracts.deploy import connect

    w3 = connect(env.chain.url)
    total = 0
    for tx, _ in txs:
        total += len(w3.eth.get_transaction(HexBytes(tx))["input"])
        for log in w3.eth.get_transaction_receipt(HexBytes(tx))["logs"]:
            total += 32 * len(log["topics"]) + len(log["data"])
    return total


def _measure(env: ChainEnv, node: NodeServiceProcess, records: int,
             post_all: Callable[[], int]) -> dict[str, Any]:  # fmt: skip
    progress = Progress(env.config().outbox_path)
    base, last = progress.anchored(), progress.last_batch()
    pids = {"node": node.proc.pid, "chain": env.chain.proc.pid}
    cpu0 = {k: cpu_seconds(p) for k, p in pids.items()}
    client0 = os.times()
    start = time.perf_counter()
    created = post_all()
    acked = time.perf_counter()
    deadline = acked + 1800
    while progress.anchored() < base + records:
        if time.perf_counter() > deadline:
            raise TimeoutError("records not anchored in time")
        time.sleep(0.02)
    final = time.perf_counter()
    cpu = {k: cpu_seconds(p) - cpu0[k] for k, p in pids.items()}
    client1 = os.times()
    cpu["client"] = (client1.user - client0.user) + (client1.system - client0.system)
    txs = progress.txs_since(last)
    progress.close()
    used = chain_bytes(env, txs)
    return {
        "records": records,
        "created": created,
        "acknowledged_s": acked - start,
        "until_final_s": final - start,
        "records_per_s": records / (final - start),
        "acknowledged_per_s": records / (acked - start),
        "cpu_s": cpu,
        "node_cpu_ms_per_record": cpu["node"] / records * 1e3,
        "transactions": len(txs),
        "chain_bytes": used,
        "chain_bytes_per_record": used / records,
    }


def _run_together(workers: list[Callable[[], None]]) -> None:
    """Start every worker on its own thread, then wait for all of them."""
    threads = [threading.Thread(target=w) for w in workers]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


def bulk(env: ChainEnv, node: NodeServiceProcess, *, records: int, offset: int,
         clients: int = 2) -> dict[str, Any]:  # fmt: skip
    """NDJSON imports of ``CHUNK`` records, ``clients`` requests in flight at a time."""
    bodies = [
        b"\n".join(obs(offset + i) for i in range(at, min(at + CHUNK, records)))
        for at in range(0, records, CHUNK)
    ]
    created: list[int] = []

    def post_all() -> int:
        queue = list(bodies)
        lock = threading.Lock()

        def worker() -> None:
            with node.client() as http:
                http.timeout = httpx.Timeout(600)
                while True:
                    with lock:
                        if not queue:
                            return
                        body = queue.pop()
                    r = http.post("/records/fhir/bulk", content=body)
                    r.raise_for_status()
                    with lock:
                        created.append(r.json()["created"])

        _run_together([worker] * clients)
        return sum(created)

    out = _measure(env, node, records, post_all)
    out.update(path="bulk NDJSON", request_records=CHUNK, clients=clients)
    return out


def singles(env: ChainEnv, node: NodeServiceProcess, *, records: int, offset: int,
            clients: int = 16) -> dict[str, Any]:  # fmt: skip
    """One record per request, ``clients`` concurrent requests (coalesced by the node)."""
    bodies = [obs(offset + i) for i in range(records)]

    def post_all() -> int:
        created = [0] * clients

        def worker(k: int) -> None:
            with node.client() as http:
                for body in bodies[k::clients]:
                    r = http.post("/records/fhir", content=body)
                    r.raise_for_status()
                    created[k] += r.json()["created"]

        _run_together([functools.partial(worker, k) for k in range(clients)])
        return sum(created)

    out = _measure(env, node, records, post_all)
    out.update(path="single-record requests", clients=clients)
    return out
