"""What accounting costs a read: one durable, hash-chained append per item served.

Measured in one run:

- ``append``: :meth:`SqliteDisclosureLog.append` (WAL, ``synchronous=FULL``, SHA-256 chain),
  per entry, against the reference a plain WAL insert of the same row would cost with
  SQLite's usual ``synchronous=NORMAL`` and no hashing (what durability at commit and the
  chain add on top of "just logging it");
- ``verify``: recomputing the whole chain and checking anchors, entries per second;
- ``record_read``: ``GET /records/{id}`` through the gateway app (``FileCaseStore`` over
  pydicom's CT sample, in-process client) with the log, against the same app without one.
"""

from __future__ import annotations

import sqlite3
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from eth_account import Account
from fastapi.testclient import TestClient

from gateway.app import create_app
from gateway.container import Services
from gateway.disclosure.abc import AnchoredHead
from gateway.disclosure.anchor import Anchorer, Policy
from gateway.disclosure.entry import Kind, Served
from gateway.disclosure.log import SqliteDisclosureLog
from gateway.disclosure.verify import verify
from gateway.domain import PhysicianStatus
from gateway.memory import MemorySessionStore
from gateway.services.auth import token_digest
from tests.gateway.conftest import Clock, Gateway, make_settings
from tests.gateway.dicom_files import make_files
from tests.gateway.fakes import DictAuditSource, FileCaseStore, TableChainView, grant_state
from tests.gateway.redeemed import G1

APPENDS = 2000
READS = 300
SERVED = Served(kind=Kind.INSTANCE, grant=b"\x01" * 32, record=b"\x02" * 32,
                instance=b"\x03" * 32, size=1 << 20)  # fmt: skip
PHYSICIAN = "0x" + "ab" * 20


def _quantiles(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    return {"p50_us": round(statistics.median(ordered) * 1e6, 1),
            "p99_us": round(ordered[int(len(ordered) * 0.99) - 1] * 1e6, 1)}  # fmt: skip


def _appends(directory: Path) -> dict[str, Any]:
    log = SqliteDisclosureLog(directory / "ours.sqlite")
    ours = []
    for n in range(APPENDS):
        start = time.perf_counter()
        log.append(physician=PHYSICIAN, served=SERVED, at_ms=n)
        ours.append(time.perf_counter() - start)
    db = sqlite3.connect(directory / "plain.sqlite", isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=NORMAL")
    db.execute("CREATE TABLE t (seq INTEGER PRIMARY KEY, at_ms, physician, kind, grant_id, "
               "record, instance, size)")  # fmt: skip
    plain = []
    for n in range(APPENDS):
        start = time.perf_counter()
        db.execute("INSERT INTO t VALUES (?,?,?,?,?,?,?,?)", (n + 1, n, PHYSICIAN, "instance",
                   "01" * 32, "02" * 32, "03" * 32, 1 << 20))  # fmt: skip
        plain.append(time.perf_counter() - start)
    db.close()
    entries = log.entries()
    count, head = log.head()
    anchor = AnchoredHead(head=head, count=count, seq=1, block=1, tx="0x", operator="0x")
    start = time.perf_counter()
    outcome = verify(entries, [anchor])
    elapsed = time.perf_counter() - start
    assert outcome.ok
    log.close()
    return {"append": {"ours": _quantiles(ours), "plain_wal_normal_insert": _quantiles(plain)},
            "verify": {"entries": count,
                       "entries_per_s": round(count / elapsed)}}  # fmt: skip


def _reads(directory: Path, *, accounted: bool) -> dict[str, float]:
    files = make_files(directory)
    settings = make_settings()
    chain, cases, sessions = TableChainView(), FileCaseStore(), MemorySessionStore()
    log = SqliteDisclosureLog(directory / "reads.sqlite") if accounted else None
    services = Services(chain=chain, cases=cases, sessions=sessions, audit=DictAuditSource(),
                        clock=Clock(),
                        disclosures=Anchorer(log, None, Policy()) if log else None)  # fmt: skip
    app = create_app(services=services, settings=settings)
    samples = []
    with TestClient(app) as client:
        gw = Gateway(settings, chain, cases, sessions, DictAuditSource(), Clock(), client, app)
        cases.add(G1, files.ct_series[0])
        chain.grants[G1] = grant_state(G1, settings.hospital)
        physician = Account.create()
        gw.register(physician, PhysicianStatus.ACTIVE)
        token = gw.sign_in(physician)
        sessions.add_grant(token_digest(settings=settings, token=token), G1)
        headers = {"Authorization": f"Bearer {token}"}
        record = client.get(f"/cases/0x{G1.hex()}/records", headers=headers).json()[0]["record"]
        for _ in range(READS):
            start = time.perf_counter()
            assert client.get(f"/records/{record}", headers=headers).status_code == 200
            samples.append(time.perf_counter() - start)
    if log is not None:
        assert log.head()[0] == READS
        log.close()
    return _quantiles(samples)


def run() -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "with").mkdir()
        (root / "without").mkdir()
        result = _appends(root)
        with_log = _reads(root / "with", accounted=True)
        without = _reads(root / "without", accounted=False)
        result["record_read"] = {"with_log": with_log, "without_log": without}
    result["parameters"] = {"appends": APPENDS, "reads": READS}
    return result
