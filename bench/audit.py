"""Tracing one case among many: topic-filtered ``eth_getLogs`` against a full scan, on anvil.

Workload: ``CASES`` referral cases on one deployed suite, each with one anchor, a referral
(initiated, accepted), a grant and ``REDEEMS`` redemptions (``4 + REDEEMS`` events per
case). Measured: :meth:`Tracer.trace_case` for one case (two ``eth_getLogs`` with the case
id as a topic, then one block and one transaction read per event), cold (fresh reader, no
cached blocks or senders) and warm; against the reference an auditor without the indexed
topics would write: one ``eth_getLogs`` of every suite event in the range, decoded, then
filtered on the case id in Python. The reader enriches every log it decodes (block time,
sender), so the scan pays that for all ``CASES`` cases: the ratio of the two is what an
auditor tool that does not filter by topic pays, not the ``eth_getLogs`` difference alone;
that is measured separately (raw ``eth_getLogs``, no decoding: with the case topics vs
every suite log). Answers are compared for equality on every repeat.

Anvil, not our chain: the workload is a few thousand transactions, which anvil mines at
once while our chain waits a block interval per dependent transaction; the reads measured
are plain JSON-RPC either way.
"""

from __future__ import annotations

import statistics
import time
from typing import Any

from contracts.tx import submit, wait
from gateway.audit.events import EventReader
from gateway.audit.tracer import CASE_AT_TOPIC2, CASE_AT_TOPIC3, Tracer
from tests.contracts.backends import anvil_chain
from tests.contracts.world import TEST_GAS, World, build_world, rand32

CASES = 60
REDEEMS = 5
REPEATS = 5


def _fill(world: World) -> list[bytes]:
    """Every case's transactions, sent back to back per account and awaited at the end."""
    a, r, g = world.anchors.functions, world.referrals.functions, world.grants.functions
    cases = [rand32() for _ in range(CASES)]
    nonces: dict[str, int] = {}

    def send(actor: str, fn: Any) -> Any:
        if actor not in nonces:
            nonces[actor] = world.w3.eth.get_transaction_count(world.addr(actor), "pending")
        tx = submit(world.w3, world.acct[actor], fn, gas=TEST_GAS, nonce=nonces[actor])
        nonces[actor] += 1
        return tx

    for i, case in enumerate(cases):
        send(
            "village", a.anchorRecord(rand32(), 0, rand32(), "bafkrei" + "a" * 52, case, bytes(32))
        )
        wait(world.w3, send("village", r.initiate(case, world.addr("county"), 7, world.later())))
        wait(world.w3, send("county", r.accept(i + 1)))
        grant = g.issue(
            i + 1, world.addr("county"), "0x" + "00" * 20, rand32(), world.later(3600), REDEEMS
        )
        wait(world.w3, send("village", grant))
        hashes = [send("doc_county", world.redeem(i + 1, "doc_county")) for _ in range(REDEEMS)]
        wait(world.w3, hashes[-1])
    return cases


def _full_scan(reader: EventReader, case: bytes, head: int) -> list[Any]:
    every = reader.query(CASE_AT_TOPIC2 + CASE_AT_TOPIC3, topics={}, to_block=head)
    wanted = "0x" + case.hex()
    return [e for e in every if e.args.get("caseId") == wanted]


def _raw_logs(world: World, case: bytes | None, head: int) -> float:
    reader = EventReader(world.w3, world.deployment)
    addresses = [world.deployment.anchors, world.deployment.referrals, world.deployment.grants]
    sigs2 = [reader.signature(n) for n in CASE_AT_TOPIC2]
    sigs3 = [reader.signature(n) for n in CASE_AT_TOPIC3]
    start = time.perf_counter()
    if case is None:
        world.w3.eth.get_logs({"address": addresses, "fromBlock": 0, "toBlock": head})
    else:
        for sigs, position in ((sigs2, 2), (sigs3, 3)):
            topics: list[Any] = [sigs] + [None] * (position - 1) + ["0x" + case.hex()]
            world.w3.eth.get_logs(
                {"address": addresses, "topics": topics, "fromBlock": 0, "toBlock": head}
            )
    return time.perf_counter() - start


def _time(fn: Any) -> tuple[float, Any]:
    start = time.perf_counter()
    out = fn()
    return time.perf_counter() - start, out


def run() -> dict[str, Any]:
    with anvil_chain() as chain:
        world = build_world(chain)
        cases = _fill(world)
        target = cases[CASES // 2]
        head = world.w3.eth.block_number
        cold, warm, scan, raw_case, raw_all = [], [], [], [], []
        for _ in range(REPEATS):
            reader = EventReader(world.w3, world.deployment)
            tracer = Tracer(reader)
            t_cold, events = _time(lambda: tracer.case_events(target, head=head))  # noqa: B023
            t_warm, again = _time(lambda: tracer.case_events(target, head=head))  # noqa: B023
            scan_reader = EventReader(world.w3, world.deployment)
            t_scan, scanned = _time(lambda: _full_scan(scan_reader, target, head))  # noqa: B023
            assert events == again == scanned and len(events) == 4 + REDEEMS
            cold.append(t_cold)
            warm.append(t_warm)
            scan.append(t_scan)
            raw_case.append(_raw_logs(world, target, head))
            raw_all.append(_raw_logs(world, None, head))
    return {
        "engine": "anvil",
        "cases": CASES,
        "events_per_case": 4 + REDEEMS,
        "suite_events_in_range": CASES * (4 + REDEEMS),
        "repeats": REPEATS,
        "trace_case_cold_median_ms": round(statistics.median(cold) * 1000, 2),
        "trace_case_warm_median_ms": round(statistics.median(warm) * 1000, 2),
        "full_scan_cold_median_ms": round(statistics.median(scan) * 1000, 2),
        "raw_get_logs_case_topics_median_ms": round(statistics.median(raw_case) * 1000, 2),
        "raw_get_logs_all_suite_median_ms": round(statistics.median(raw_all) * 1000, 2),
    }
