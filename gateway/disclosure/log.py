"""The disclosure log in SQLite (WAL, ``synchronous=FULL``): each append is durable at commit.

Appends are serialized under one lock (the chain has one tail); the tail is read back from
the table at open, so a restarted gateway continues the same chain. ``FULL`` rather than
WAL's usual ``NORMAL``: a read served and then lost to a power cut would be a read hidden.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Sequence
from pathlib import Path

from common.sqlite import enable_wal
from gateway.disclosure.abc import DisclosureLogAPI, Filter
from gateway.disclosure.entry import GENESIS, Entry, Served, make_entry
from gateway.disclosure.exceptions import LogUnavailable

_SCHEMA = """
CREATE TABLE IF NOT EXISTS disclosures (
    seq INTEGER PRIMARY KEY, at_ms INTEGER NOT NULL, physician TEXT NOT NULL,
    kind TEXT NOT NULL, grant_id TEXT NOT NULL, record TEXT NOT NULL, instance TEXT NOT NULL,
    size INTEGER NOT NULL, prev TEXT NOT NULL, hash TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS disclosures_record ON disclosures(record);
CREATE INDEX IF NOT EXISTS disclosures_grant ON disclosures(grant_id);
CREATE INDEX IF NOT EXISTS disclosures_physician ON disclosures(physician);
"""
_COLUMNS = "seq, at_ms, physician, kind, grant_id, record, instance, size, prev, hash"


class SqliteDisclosureLog(DisclosureLogAPI):
    """The gateway's log file (``disclosures.sqlite`` in the hospital's data dir)."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(
            path, check_same_thread=False, isolation_level=None, timeout=10.0
        )
        enable_wal(self._db)
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.executescript(_SCHEMA)
        self._lock = threading.Lock()

    def _tail(self) -> tuple[int, bytes]:
        row = self._db.execute("SELECT seq, hash FROM disclosures ORDER BY seq DESC LIMIT 1")
        found = row.fetchone()
        return (0, GENESIS) if found is None else (int(found[0]), bytes.fromhex(found[1]))

    def append(self, *, physician: str, served: Served, at_ms: int) -> Entry:
        with self._lock:
            try:
                # IMMEDIATE: the tail is read under the write lock, so another process on
                # the same file (a second worker) waits instead of forking the chain.
                self._db.execute("BEGIN IMMEDIATE")
                try:
                    count, prev = self._tail()
                    entry = make_entry(seq=count + 1, at_ms=at_ms, physician=physician,
                                       served=served, prev=prev)  # fmt: skip
                    self._db.execute(
                        f"INSERT INTO disclosures ({_COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?,?)",
                        (entry.seq, entry.at_ms, entry.physician, entry.kind, entry.grant,
                         entry.record, entry.instance, entry.size, entry.prev, entry.hash),
                    )  # fmt: skip
                except BaseException:
                    self._db.execute("ROLLBACK")
                    raise
                self._db.execute("COMMIT")
            except sqlite3.Error as exc:
                raise LogUnavailable(f"disclosure log not writable: {exc}") from None
        return entry

    def head(self) -> tuple[int, bytes]:
        with self._lock:
            return self._tail()

    def entries(self, where: Filter | None = None) -> Sequence[Entry]:
        clauses, args = [], []
        for column, value in (("record", where and where.record),
                              ("grant_id", where and where.grant),
                              ("lower(physician)", where and where.physician)):  # fmt: skip
            if value:
                clauses.append(f"{column} = ?")
                args.append(value.lower())
        sql = f"SELECT {_COLUMNS} FROM disclosures"
        if clauses:
            sql += " WHERE " + " AND ".join(clauses)
        with self._lock:
            rows = self._db.execute(sql + " ORDER BY seq", args).fetchall()
        return [Entry(*row) for row in rows]

    def close(self) -> None:
        self._db.close()


def read_log(path: Path) -> list[Entry]:
    """Every entry of a log file, opened read-only (an auditor's copy is never written).

    Raises
    ------
    LogUnavailable
        No such file, or not a disclosure log.
    """
    if not path.is_file():
        raise LogUnavailable(f"{path}: no such disclosure log")
    try:
        db = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
        try:
            rows = db.execute(f"SELECT {_COLUMNS} FROM disclosures ORDER BY seq").fetchall()
        finally:
            db.close()
    except sqlite3.Error as exc:
        raise LogUnavailable(f"{path}: not a disclosure log ({exc})") from None
    return [Entry(*row) for row in rows]
