"""``get_logs`` over 100,000 blocks: the log index against a brute-force scan, same data.

How the index is filled: building 100,000 real blocks through py-evm would take hours on
two cores (~2 ms per transaction), so the blocks' logs are synthesized and written with
the very function the ledger calls at each block commit (``logindex.index_writes``),
1,000 blocks per LMDB transaction (the ledger commits one block per transaction; batching
changes the fill time only, not what is stored). ``get_logs`` reads nothing but this
index, so queries see exactly what they would see on a real chain with these logs.

Data: each block has 3 transactions with 1-2 logs each from 50 contracts (a few
contracts are much busier than others), topic0 one of 8 event signatures, topic1 a
record id out of 50,000. The brute force reads every block's log record in the range
(``LogIndex.scan_logs``: a cursor scan in the same LMDB, no py-evm receipt decoding, so
it is the *cheapest* possible scan) and filters and builds results with the same code;
both answers are compared for equality on every query.

``index_ms`` is ``get_logs`` (``IndexedLog`` objects, bytes fields); ``index_json_ms`` is
what ``eth_getLogs`` does: ``get_log_objects`` (the index stores each log as its JSON
object) and the response encoding with orjson, with no per-log formatting in Python.
"""

from __future__ import annotations

import random
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson
from eth_hash.auto import keccak

from ledger.abc import IndexedLog, LogFilter
from ledger.db import LmdbEnvironment
from ledger.logindex import DB_NAME, LogIndex, RawLog, index_writes
from ledger.typing import Address, BlockNumber, Hash32

BLOCKS = 100_000
BATCH = 1_000
CONTRACTS = [Address(keccak(b"contract%d" % i)[:20]) for i in range(50)]
EVENTS = [Hash32(keccak(b"Event%d(uint256)" % i)) for i in range(8)]
RECORDS = 50_000
REPEATS = 5


def _record(i: int) -> Hash32:
    return Hash32(i.to_bytes(32, "big"))


def _fill(env: LmdbEnvironment, rng: random.Random) -> dict[str, int]:
    weights = [1 / (i + 1) for i in range(len(CONTRACTS))]  # Zipf-like: contract 0 busiest
    logs_total = 0
    for start in range(0, BLOCKS, BATCH):
        pending: dict[bytes, bytes | None] = {}
        for number in range(start, start + BATCH):
            transactions: list[tuple[bytes, list[RawLog]]] = []
            for t in range(3):
                logs: list[RawLog] = []
                for _ in range(rng.randint(1, 2)):
                    address = rng.choices(CONTRACTS, weights)[0]
                    topics = [rng.choice(EVENTS), _record(rng.randrange(RECORDS))]
                    logs.append((address, topics, rng.randbytes(32)))
                logs_total += len(logs)
                transactions.append((keccak(b"%d/%d" % (number, t)), logs))
            pending.update(
                index_writes(
                    block_number=number,
                    block_hash=keccak(b"%d" % number),
                    transactions=transactions,
                )
            )
        env.commit({DB_NAME: pending})
    return {"blocks": BLOCKS, "logs": logs_total}


def _time(fn: Callable[[], list[IndexedLog]]) -> tuple[float, list[IndexedLog]]:
    samples = []
    result: list[IndexedLog] = []
    for _ in range(REPEATS):
        started = time.perf_counter()
        result = fn()
        samples.append((time.perf_counter() - started) * 1000)
    return statistics.median(samples), result


def _time_bytes(fn: Callable[[], bytes]) -> tuple[float, bytes]:
    samples = []
    result = b""
    for _ in range(REPEATS):
        started = time.perf_counter()
        result = fn()
        samples.append((time.perf_counter() - started) * 1000)
    return statistics.median(samples), result


def run() -> dict[str, Any]:
    rng = random.Random(20261123)
    full = (BlockNumber(0), BlockNumber(BLOCKS - 1))
    filters = {
        "selective: one record id (topic1), all 100k blocks": LogFilter(
            *full, topics=(None, (_record(4242),))
        ),
        "selective: quiet contract + event, all 100k blocks": LogFilter(
            *full, addresses=(CONTRACTS[49],), topics=((EVENTS[3],),)
        ),
        "medium: one event signature, last 10k blocks": LogFilter(
            BlockNumber(BLOCKS - 10_000), full[1], topics=((EVENTS[0],),)
        ),
        "broad: busiest contract, all 100k blocks": LogFilter(*full, addresses=(CONTRACTS[0],)),
        "broad: every log, last 1k blocks": LogFilter(BlockNumber(BLOCKS - 1_000), full[1]),
    }
    with tempfile.TemporaryDirectory(prefix="bench-logindex-") as tmp:
        env = LmdbEnvironment(Path(tmp))
        try:
            started = time.perf_counter()
            filled = _fill(env, rng)
            fill_s = time.perf_counter() - started
            index = LogIndex(env)
            queries = {}
            for name, log_filter in filters.items():
                index_ms, index_logs = _time(lambda f=log_filter: index.get_logs(f))
                scan_ms, scan_logs = _time(lambda f=log_filter: index.scan_logs(f))
                if index_logs != scan_logs:
                    raise AssertionError(f"{name}: index and brute force disagree")
                json_ms, answer = _time_bytes(
                    lambda f=log_filter: orjson.dumps(index.get_log_objects(f))
                )
                if orjson.loads(answer) != orjson.loads(
                    orjson.dumps(index.scan_log_objects(log_filter))
                ):
                    raise AssertionError(f"{name}: JSON answers of index and scan disagree")
                index_count = len(index_logs)
                queries[name] = {
                    "matches": index_count,
                    "index_ms": round(index_ms, 3),
                    "index_json_ms": round(json_ms, 3),
                    "json_bytes": len(answer),
                    "brute_force_ms": round(scan_ms, 3),
                    "speedup": round(scan_ms / index_ms, 1) if index_ms else None,
                }
        finally:
            env.close()
    return {
        **filled,
        "fill_seconds": round(fill_s, 1),
        "fill_method": "synthetic logs written with logindex.index_writes (see module doc)",
        "repeats_median_of": REPEATS,
        "queries": queries,
    }
