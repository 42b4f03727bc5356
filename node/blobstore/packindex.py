"""The pack store's index: CID -> (pack, offset, length), pins and pack sizes, in SQLite.

SQLite in WAL mode with ``synchronous=FULL``: a commit returns once its WAL frames are
fsynced, and a crash rolls back whatever was not committed, so the index is always one of
its committed states. The store's crash rule rests on it: pack bytes are made durable
*before* the transaction naming them commits, so no committed entry points at bytes that
were not on disk, and ``packs.size`` (the end of the last committed append) tells where a
torn tail begins.

A connection per thread (SQLite connections are not shared between threads here); readers
never wait for the writer in WAL mode.

Layout 2 (``PRAGMA user_version``): a pin is a flag on its block's row, and blocks have no
secondary index. Each stored record costs one insert into one B-tree keyed by a random CID;
layout 1 also inserted into a ``pins`` table and a ``(pack, cid)`` index, three random-key
inserts whose page writes grew with the store. The scans that lost their index (the pins,
a pack's blocks) serve only garbage collection and listings. Layout 1 is upgraded on open.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
from collections.abc import Iterable
from pathlib import Path
from typing import NamedTuple

from common.sqlite import enable_wal
from node.exceptions import BlobStoreError
from node.sqlite_layout import checked_version, execute_script
from node.typing import CID

log = logging.getLogger(__name__)

VERSION = 2
_SCHEMA = """
CREATE TABLE IF NOT EXISTS packs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    size INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS blocks (
    cid TEXT PRIMARY KEY,
    pack INTEGER NOT NULL,
    offset INTEGER NOT NULL,
    length INTEGER NOT NULL,
    pinned INTEGER NOT NULL DEFAULT 0 CHECK (pinned IN (0, 1))
) WITHOUT ROWID;
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
        self._open()

    def _open(self) -> None:
        """Create the tables, or upgrade a layout 1 index (one transaction either way).

        An index already at :data:`VERSION` is only read: opening a store writes nothing.
        """
        db = self.db
        what = "the blob index"
        if checked_version(db, supported=VERSION, what=what, error=BlobStoreError) == VERSION:
            return
        db.execute("BEGIN IMMEDIATE")
        try:
            # checked again under the write lock: another opener may have just upgraded it
            if checked_version(db, supported=VERSION, what=what, error=BlobStoreError) < VERSION:
                tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master")}
                if "pins" in tables:
                    _upgrade_v1(db)
                execute_script(db, _SCHEMA)
                db.execute(f"PRAGMA user_version={VERSION}")
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise

    @property
    def db(self) -> sqlite3.Connection:
        """The calling thread's connection (autocommit mode: transactions are explicit)."""
        db: sqlite3.Connection | None = getattr(self._local, "db", None)
        if db is None:
            db = sqlite3.connect(self._path, timeout=60, isolation_level=None)
            enable_wal(db)
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
        """The subset of ``cids`` already indexed (one statement per 500 CIDs)."""
        wanted = list(cids)
        found: set[CID] = set()
        for at in range(0, len(wanted), 500):
            chunk = wanted[at : at + 500]
            rows = self.db.execute(
                f"SELECT cid FROM blocks WHERE cid IN ({', '.join('?' * len(chunk))})", chunk
            )
            found.update(CID(r[0]) for r in rows)
        return found

    def pins(self) -> set[CID]:
        """Directly pinned roots (a scan: for gc and listings)."""
        return {CID(r[0]) for r in self.db.execute("SELECT cid FROM blocks WHERE pinned")}

    def is_pinned(self, cid: CID) -> bool:
        """Whether ``cid`` is pinned directly."""
        row = self.db.execute("SELECT pinned FROM blocks WHERE cid = ?", (cid,)).fetchone()
        return row is not None and bool(row[0])

    def packs(self) -> dict[int, int]:
        """Every pack's committed size."""
        return dict(self.db.execute("SELECT id, size FROM packs"))

    def live_bytes(self) -> dict[int, int]:
        """Bytes of indexed blocks per pack."""
        return dict(self.db.execute("SELECT pack, SUM(length) FROM blocks GROUP BY pack"))

    def blocks_in(self, pack: int) -> list[tuple[CID, Location]]:
        """The blocks indexed in ``pack``, in offset order (a scan: for compaction)."""
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

        ``moved`` points existing entries at new places and forgets ``dead_packs``
        (compaction); otherwise an entry that exists is kept (content addressing: same name,
        same bytes). A pin names a block that is indexed, or named in this same commit.
        """
        rows = list(blocks)
        pinned = set(pins)
        db = self.db
        db.execute("BEGIN IMMEDIATE")
        try:
            if moved:
                db.executemany(
                    "UPDATE blocks SET pack = ?, offset = ?, length = ? WHERE cid = ?",
                    ((*loc, c) for c, loc in rows),
                )
            else:
                cur = db.executemany(
                    "INSERT OR IGNORE INTO blocks (cid, pack, offset, length, pinned) "
                    "VALUES (?, ?, ?, ?, ?)",
                    ((c, *loc, c in pinned) for c, loc in rows),
                )
                if cur.rowcount == len(rows):  # every row new: their pins are set already
                    pinned.difference_update(c for c, _ in rows)
            for cid in pinned:
                if db.execute("UPDATE blocks SET pinned = 1 WHERE cid = ?", (cid,)).rowcount != 1:
                    raise BlobStoreError(f"cannot pin {cid}: the index has no such block")
            db.executemany(
                "UPDATE packs SET size = MAX(size, ?) WHERE id = ?",
                ((size, pack) for pack, size in sizes.items()),
            )
            db.executemany("DELETE FROM packs WHERE id = ?", ((p,) for p in dead_packs))
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise

    def unpin(self, cid: CID) -> bool:
        """Drop the pin; False if there was none."""
        cur = self.db.execute("UPDATE blocks SET pinned = 0 WHERE cid = ? AND pinned", (cid,))
        return cur.rowcount > 0

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


def _upgrade_v1(db: sqlite3.Connection) -> None:
    """Layout 1 -> 2 inside the caller's transaction: pins become flags on their blocks."""
    db.execute("ALTER TABLE blocks ADD COLUMN pinned INTEGER NOT NULL DEFAULT 0 "
               "CHECK (pinned IN (0, 1))")  # fmt: skip
    db.execute("UPDATE blocks SET pinned = 1 WHERE cid IN (SELECT cid FROM pins)")
    stray = db.execute(
        "SELECT count(*) FROM pins WHERE cid NOT IN (SELECT cid FROM blocks)"
    ).fetchone()[0]
    if stray:  # a pin on a block the store does not hold protected nothing
        log.warning("blob index upgrade: %d pins named no stored block and were dropped", stray)
    db.execute("DROP TABLE pins")
    db.execute("DROP INDEX IF EXISTS blocks_by_pack")
    log.info("blob index upgraded to layout %d", VERSION)
