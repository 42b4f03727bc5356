"""SQLite helpers shared by the node's and the gateway's local databases."""

from __future__ import annotations

import sqlite3
import time


def enable_wal(db: sqlite3.Connection, *, attempts: int = 200) -> None:
    """Switch ``db`` to WAL, waiting out another process doing the same.

    Turning a new database to WAL takes an exclusive lock for which SQLite does not call the
    busy handler: when a hospital's node and gateway open a new store at once, one of them
    gets "database is locked" at once, whatever the connection's timeout (as do two gateway
    workers opening a new disclosure log). Retried for up to about ten seconds, then the
    error stands.
    """
    for attempt in range(attempts):
        try:
            db.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or attempt == attempts - 1:
                raise
            time.sleep(0.05)
