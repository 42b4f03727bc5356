"""Which SOP instances each study record holds: idempotency by SOP Instance UID.

A PACS re-sends studies freely (a retry after a timeout, a routing rule firing twice), and a
modality may add an instance to a study pushed earlier. The index (node-local SQLite, derived
data next to the outbox) maps each study to its latest record and the SOP Instance UIDs that
record holds, and links each version to the one it supersedes. UIDs are not patient
identifiers, but they stay on this node: nothing here goes on chain or into the blob store.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Iterable
from pathlib import Path

from keys.typing import RecordId

_SCHEMA = """
CREATE TABLE IF NOT EXISTS study_versions (
    record_id BLOB PRIMARY KEY,
    study_uid TEXT NOT NULL,
    previous BLOB,
    created_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS study_versions_by_study ON study_versions (study_uid, created_at);
CREATE TABLE IF NOT EXISTS study_instances (
    study_uid TEXT NOT NULL,
    sop_uid TEXT NOT NULL,
    record_id BLOB NOT NULL,
    PRIMARY KEY (study_uid, sop_uid)
);
"""


class StudyIndex:
    """The study → latest record → SOP instances map (thread-safe, one connection, a lock)."""

    def __init__(self, path: Path) -> None:
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.executescript(_SCHEMA)
        self._lock = threading.Lock()

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def latest(self, study_uid: str) -> RecordId | None:
        """The record holding the study's newest version, if the study is known."""
        with self._lock:
            row = self._db.execute(
                "SELECT record_id FROM study_versions WHERE study_uid = ? "
                "ORDER BY created_at DESC, rowid DESC LIMIT 1", (study_uid,)
            ).fetchone()  # fmt: skip
        return None if row is None else RecordId(bytes(row[0]))

    def known(self, study_uid: str) -> set[str]:
        """SOP Instance UIDs of the study already stored (in its latest version)."""
        with self._lock:
            rows = self._db.execute(
                "SELECT sop_uid FROM study_instances WHERE study_uid = ?", (study_uid,)
            ).fetchall()
        return {str(r[0]) for r in rows}

    def previous(self, record_id: RecordId) -> RecordId | None:
        """The version ``record_id`` supersedes (``None`` for a first version or unknown)."""
        with self._lock:
            row = self._db.execute(
                "SELECT previous FROM study_versions WHERE record_id = ?", (record_id,)
            ).fetchone()
        return None if row is None or row[0] is None else RecordId(bytes(row[0]))

    def add(self, study_uid: str, record_id: RecordId, *, previous: RecordId | None,
            sop_uids: Iterable[str]) -> None:  # fmt: skip
        """Record a new version of the study holding ``sop_uids`` (all of them, the union)."""
        with self._lock, self._db:
            self._db.execute("BEGIN IMMEDIATE")
            self._db.execute(
                "INSERT OR IGNORE INTO study_versions VALUES (?, ?, ?, ?)",
                (record_id, study_uid, previous, time.time()),
            )
            self._db.executemany(
                "INSERT OR REPLACE INTO study_instances VALUES (?, ?, ?)",
                [(study_uid, sop, record_id) for sop in sop_uids],
            )
