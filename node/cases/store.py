"""The node's case state in SQLite: case members, grants both ways, deliveries, pins, cursor.

Derived data (rebuildable from the chain, the blob stores and the keys), but the follower's
cursor is written in the same transaction as the effects of the events it covers, so a crash
never applies an event twice nor skips one.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from node.cases.store_migrate import VERSION, upgrade
from node.exceptions import CaseError
from node.sqlite_layout import checked_version

SCHEMA = """
CREATE TABLE IF NOT EXISTS cursor (
    id          INTEGER PRIMARY KEY CHECK (id = 1),
    next_block  INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS case_records (
    case_id     BLOB NOT NULL CHECK (length(case_id) = 32),
    record_id   BLOB NOT NULL CHECK (length(record_id) = 32),
    PRIMARY KEY (case_id, record_id)
);
CREATE TABLE IF NOT EXISTS referrals (
    referral_id INTEGER PRIMARY KEY,
    case_id     BLOB NOT NULL,
    initiator   TEXT NOT NULL,
    target      TEXT NOT NULL,
    status      TEXT NOT NULL,
    block       INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS grants (
    grant_id    INTEGER PRIMARY KEY,
    direction   TEXT NOT NULL CHECK (direction IN ('issued', 'received')),
    referral_id INTEGER NOT NULL,
    case_id     BLOB NOT NULL,
    grantor     TEXT NOT NULL,
    grantee     TEXT NOT NULL,
    scope_root  BLOB NOT NULL,
    expires_at  INTEGER NOT NULL,
    package_cid TEXT,
    token       TEXT,
    state       TEXT NOT NULL
        CHECK (state IN ('issued', 'delivered', 'announced', 'replicated', 'revoked')),
    issued_at   INTEGER,
    delivery_signature BLOB CHECK (delivery_signature IS NULL OR length(delivery_signature) = 65),
    delivered_at REAL
);
CREATE TABLE IF NOT EXISTS grant_pins (
    grant_id    INTEGER NOT NULL REFERENCES grants (grant_id),
    cid         TEXT NOT NULL,
    PRIMARY KEY (grant_id, cid)
);
-- The owner's side of break-glass openings of its cases (node.cases.breakglass): the
-- policy decision taken when the BreakGlassAccess event was applied, and its review.
CREATE TABLE IF NOT EXISTS break_glass (
    grant_id    INTEGER PRIMARY KEY,
    case_id     BLOB NOT NULL,
    physician   TEXT NOT NULL,
    hospital    TEXT NOT NULL,
    reason_code INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL,
    block       INTEGER NOT NULL,
    policy      TEXT NOT NULL,
    decision    TEXT NOT NULL CHECK (decision IN ('pending', 'released', 'denied', 'refused')),
    refusal     TEXT,
    released_at REAL,
    -- a denied or refused opening is revoked on chain by this node (1 once final)
    revoked     INTEGER NOT NULL DEFAULT 0,
    reviewed    INTEGER NOT NULL DEFAULT 0,
    justified   INTEGER,
    reviewer    TEXT,
    review_block INTEGER
);
CREATE TABLE IF NOT EXISTS effects (
    seq         INTEGER PRIMARY KEY AUTOINCREMENT,
    block       INTEGER NOT NULL,
    log_index   INTEGER NOT NULL,
    event       TEXT NOT NULL,
    UNIQUE (block, log_index)
);
"""


class CaseStore:
    """One SQLite file (WAL) holding the case state of this node."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        version = checked_version(self._db, supported=VERSION, what=f"case store {path.name}",
                                  error=CaseError)  # fmt: skip
        self._db.executescript(SCHEMA)
        if version < VERSION:
            upgrade(self._db)
        # One connection shared by the API's worker threads and the follower: the lock
        # keeps each transaction whole (sqlite3 connections are not safe across threads).
        self._lock = threading.RLock()

    def close(self) -> None:
        self._db.close()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """One atomic write (``BEGIN IMMEDIATE`` … ``COMMIT``), rolled back on any error."""
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def query(self, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        with self._lock:
            return list(self._db.execute(sql, params).fetchall())

    # -- cursor ----------------------------------------------------------------------------

    def next_block(self, default: int) -> int:
        rows = self.query("SELECT next_block FROM cursor WHERE id = 1")
        return int(rows[0][0]) if rows else default

    @staticmethod
    def set_next_block(db: sqlite3.Connection, block: int) -> None:
        db.execute(
            "INSERT INTO cursor (id, next_block) VALUES (1, ?) "
            "ON CONFLICT (id) DO UPDATE SET next_block = excluded.next_block",
            (block,),
        )

    # -- cases -----------------------------------------------------------------------------

    def add_records(self, case_id: bytes, record_ids: Sequence[bytes]) -> int:
        with self.transaction() as db:
            before = db.total_changes
            db.executemany(
                "INSERT OR IGNORE INTO case_records (case_id, record_id) VALUES (?, ?)",
                [(case_id, r) for r in record_ids],
            )
            return db.total_changes - before

    def case_records(self, case_id: bytes) -> list[bytes]:
        rows = self.query(
            "SELECT record_id FROM case_records WHERE case_id = ? ORDER BY record_id", (case_id,)
        )
        return [bytes(r[0]) for r in rows]

    # -- grants ----------------------------------------------------------------------------

    def grant_row(self, grant_id: int) -> dict[str, Any] | None:
        rows = self._dicts("SELECT * FROM grants WHERE grant_id = ?", (grant_id,))
        return rows[0] if rows else None

    def _dicts(self, sql: str, params: tuple[Any, ...]) -> list[dict[str, Any]]:
        with self._lock:
            cur = self._db.execute(sql, params)
            cols = [d[0] for d in cur.description]
            return [dict(zip(cols, row, strict=True)) for row in cur.fetchall()]

    def grants(self, direction: str | None = None) -> list[dict[str, Any]]:
        sql, params = "SELECT * FROM grants", tuple[str, ...]()
        if direction is not None:
            sql, params = sql + " WHERE direction = ?", (direction,)
        return self._dicts(sql + " ORDER BY grant_id", params)

    def pins_of(self, grant_id: int) -> list[str]:
        rows = self.query("SELECT cid FROM grant_pins WHERE grant_id = ? ORDER BY cid", (grant_id,))
        return [str(r[0]) for r in rows]

    def effect_count(self) -> int:
        return int(self.query("SELECT count(*) FROM effects")[0][0])
