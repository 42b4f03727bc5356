"""The pack store's index: CID -> (pack, offset, length), pins and pack sizes, in SQLite.

SQLite in WAL mode with ``synchronous=FULL``: a commit returns once its WAL frames are
fsynced, and a crash rolls back whatever was not committed, so the index is always one of
its committed states. The store's crash rule rests on it: pack bytes are made durable
*before* the transaction naming them commits, so no committed entry points at bytes that
were not on disk, and ``packs.size`` (the end of the last committed append) tells where a
torn tail begins.

A connection per thread (SQLite connections are not shared between threads here); readers
never wait for the writer in WAL mode.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterable
from pathlib import Path
from typing import NamedTuple

from node.typing import CID

_SCHEMA = """
CREATE TABLE IF NOT EXISTS packs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    size INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS blocks (
    cid TEXT PRIMARY KEY,
    pack INTEGER NOT NULL,
    offset INTEGER NOT NULL,
    length INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS blocks_by_pack ON blocks (pack);
CREATE TABLE IF NOT EXISTS pins (cid TEXT PRIMARY KEY) WITHOUT ROWID;
"""


class Location(NamedTuple):
    """Where a block's bytes are: pack id, byte offset, length."""

    pack: int
    offset: int
    length: int


class PackIndex:
    """Thread-safe access to the index database at ``path`` (created if missing).

    ``durable=False`` (throwaway stores) turns the commit-time fsync off.
    """

    def __init__(self, path: Path, *, durable: bool = True) -> None:
        self._path = path
        self._synchronous = "FULL" if durable else "OFF"
        self._local = threading.local()
        self.db.executescript(_SCHEMA)

    @property
    def db(self) -> sqlite3.Connection:
        """The calling thread's connection (autocommit mode: transactions are explicit)."""
        db: sqlite3.Connection | None = getattr(self._local, "db", None)
        if db is None:
            db = sqlite3.connect(self._path, timeout=60, isolation_level=None)
            db.execute("PRAGMA journal_mode=WAL")
            db.execute(f"PRAGMA synchronous={self._synchronous}")
            self._local.db = db
        return db

    def close(self) -> None:
        """Close this thread's connection (others close when their thread ends)."""
        db = getattr(self._local, "db", None)
        if db is not None:
            db.close()
            self._local.db = None

    # -- reads ---------------------------------------------------------------------------

    def locate(self, cid: CID) -> Location | None:
        """Where ``cid`` is stored, or None."""
        row = self.db.execute(
            "SELECT pack, offset, length FROM blocks WHERE cid = ?", (cid,)
        ).fetchone()
        return None if row is None else Location(*row)

    def known(self, cids: Iterable[CID]) -> set[CID]:
        """The subset of ``cids`` already indexed."""
        db = self.db
        return {
            c for c in cids if db.execute("SELECT 1 FROM blocks WHERE cid = ?", (c,)).fetchone()
        }

    def pins(self) -> set[CID]:
        """Directly pinned roots."""
        return {CID(r[0]) for r in self.db.execute("SELECT cid FROM pins")}

    def is_pinned(self, cid: CID) -> bool:
        """Whether ``cid`` is pinned directly."""
        return self.db.execute("SELECT 1 FROM pins WHERE cid = ?", (cid,)).fetchone() is not None

    def packs(self) -> dict[int, int]:
        """Every pack's committed size."""
        return dict(self.db.execute("SELECT id, size FROM packs"))

    def live_bytes(self) -> dict[int, int]:
        """Bytes of indexed blocks per pack."""
        return dict(self.db.execute("SELECT pack, SUM(length) FROM blocks GROUP BY pack"))

    def blocks_in(self, pack: int) -> list[tuple[CID, Location]]:
        """The blocks indexed in ``pack``, in offset order."""
        rows = self.db.execute(
            "SELECT cid, pack, offset, length FROM blocks WHERE pack = ? ORDER BY offset", (pack,)
        )
        return [(CID(r[0]), Location(r[1], r[2], r[3])) for r in rows]

    def all_cids(self) -> list[CID]:
        """Every indexed block."""
        return [CID(r[0]) for r in self.db.execute("SELECT cid FROM blocks")]

    # -- writes (each one transaction) ---------------------------------------------------

    def new_pack(self) -> int:
        """Allocate a pack id (ids are never reused: a deleted pack's id stays dead)."""
        cur = self.db.execute("INSERT INTO packs (size) VALUES (0)")
        assert cur.lastrowid is not None
        return cur.lastrowid

    def commit(
        self,
        *,
        blocks: Iterable[tuple[CID, Location]],
        sizes: dict[int, int],
        pins: Iterable[CID] = (),
        moved: bool = False,
        dead_packs: Iterable[int] = (),
    ) -> None:
        """Name ``blocks``, set packs' committed ``sizes``, add ``pins``, atomically.

        ``moved`` replaces existing entries and forgets ``dead_packs`` (compaction);
        otherwise an entry that exists is kept (content addressing: same name, same bytes).
        """
        verb = "INSERT OR REPLACE" if moved else "INSERT OR IGNORE"
        db = self.db
        db.execute("BEGIN IMMEDIATE")
        try:
            db.executemany(
                f"{verb} INTO blocks (cid, pack, offset, length) VALUES (?, ?, ?, ?)",
                ((c, *loc) for c, loc in blocks),
            )
            db.executemany(
                "UPDATE packs SET size = MAX(size, ?) WHERE id = ?",
                ((size, pack) for pack, size in sizes.items()),
            )
            db.executemany("INSERT OR IGNORE INTO pins (cid) VALUES (?)", ((c,) for c in pins))
            db.executemany("DELETE FROM packs WHERE id = ?", ((p,) for p in dead_packs))
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise

    def unpin(self, cid: CID) -> bool:
        """Drop the pin; False if there was none."""
        return self.db.execute("DELETE FROM pins WHERE cid = ?", (cid,)).rowcount > 0

    def drop(self, cids: Iterable[CID]) -> None:
        """Forget blocks (garbage collection), in one transaction."""
        db = self.db
        db.execute("BEGIN IMMEDIATE")
        try:
            db.executemany("DELETE FROM blocks WHERE cid = ?", ((c,) for c in cids))
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
