"""Upgrading an outbox written by an older node, in place, on open.

Version 1 (``user_version`` 0) stored each member's inclusion proof in its ``entries`` row
and marked membership with ``entries.batch_id``: forming a batch rewrote every member row.
Version 2 (:mod:`node.anchor.outbox_schema`) keeps, per batch, the run of entries it covers and
its tree's levels. The upgrade is one transaction: each batch's members are re-read, shown
to be a run of consecutive entries, hashed back to the batch's root, and every stored proof
is compared with the path the new layout gives; any mismatch refuses the upgrade (and
leaves the file as it was) instead of guessing.
"""

from __future__ import annotations

import logging
import sqlite3

from node.anchor.outbox_schema import ENTRY_COLS, SCHEMA, VERSION, entry_from_row
from node.exceptions import OutboxError
from node.proof.merkle import MerkleTree
from node.proof.wire_codec import decode_proof
from node.sqlite_layout import execute_script

log = logging.getLogger(__name__)

#: The version 1 layout, kept to recognise and upgrade it (and to build one in tests).
SCHEMA_V1 = """
CREATE TABLE IF NOT EXISTS batches (
    batch_id     INTEGER PRIMARY KEY AUTOINCREMENT,
    root         BLOB NOT NULL UNIQUE CHECK (length(root) = 32),
    size         INTEGER NOT NULL CHECK (size > 0),
    state        TEXT NOT NULL CHECK (state IN ('batched', 'submitted', 'anchored')),
    tx_hash      BLOB CHECK (tx_hash IS NULL OR length(tx_hash) = 32),
    submitted_at REAL,
    block_number INTEGER
);
CREATE TABLE IF NOT EXISTS entries (
    seq          INTEGER PRIMARY KEY AUTOINCREMENT,
    record_id    BLOB NOT NULL UNIQUE CHECK (length(record_id) = 32),
    kind         TEXT NOT NULL,
    pseudonym    BLOB NOT NULL CHECK (length(pseudonym) = 32),
    content_hash BLOB NOT NULL CHECK (length(content_hash) = 32),
    salt         BLOB NOT NULL CHECK (length(salt) = 16),
    cid          TEXT NOT NULL,
    wrapped_key  BLOB NOT NULL,
    batch_id     INTEGER REFERENCES batches (batch_id),
    proof        BLOB,
    UNIQUE (pseudonym, content_hash)
);
CREATE TABLE IF NOT EXISTS blobs (
    cid          TEXT PRIMARY KEY,
    record_id    BLOB NOT NULL REFERENCES entries (record_id)
);
CREATE INDEX IF NOT EXISTS entries_pending ON entries (seq) WHERE batch_id IS NULL;
"""

_BATCH_COLS = "batch_id, root, size, state, tx_hash, submitted_at, block_number"


def is_v1(db: sqlite3.Connection) -> bool:
    """Whether ``db`` holds a version 1 outbox (``entries`` has a ``batch_id`` column)."""
    columns = {row[1] for row in db.execute("PRAGMA table_info(entries)")}
    return "batch_id" in columns


def upgrade(db: sqlite3.Connection) -> None:
    """Upgrade a version 1 outbox to :data:`~node.anchor.outbox_schema.VERSION`, atomically.

    ``db`` is in autocommit mode with no transaction open. Raises :class:`OutboxError` if
    the old data breaks an invariant the new layout relies on (nothing is changed then).
    """
    db.execute("PRAGMA foreign_keys=OFF")  # tables are rebuilt; checked again at the end
    db.execute("BEGIN IMMEDIATE")
    try:
        if is_v1(db):  # another process may have upgraded it while we waited for the lock
            batches = _rebuild(db)
            log.info("outbox upgraded to version %d (%d batches re-checked)", VERSION, batches)
        db.execute("COMMIT")
    except BaseException:
        db.execute("ROLLBACK")
        raise
    finally:
        db.execute("PRAGMA foreign_keys=ON")
    if db.execute("PRAGMA foreign_key_check").fetchall():  # pragma: no cover - invariant
        raise OutboxError("the upgraded outbox fails its foreign key check")


def _rebuild(db: sqlite3.Connection) -> int:
    for table in ("batches", "entries", "blobs"):
        db.execute(f"ALTER TABLE {table} RENAME TO {table}_v1")
    db.execute("DROP INDEX IF EXISTS entries_pending")
    execute_script(db, SCHEMA)
    db.execute(f"INSERT INTO entries (seq, {ENTRY_COLS}) SELECT seq, {ENTRY_COLS} FROM entries_v1")
    count = 0
    last_seq = 0
    for batch in db.execute(f"SELECT {_BATCH_COLS} FROM batches_v1 ORDER BY batch_id").fetchall():
        first_seq, last_seq, tree = _checked_batch(db, batch, after=last_seq)
        db.execute(
            f"INSERT INTO batches ({_BATCH_COLS}, first_seq, last_seq, tree) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (*batch, first_seq, last_seq, tree),
        )
        count += 1
    early = db.execute(
        "SELECT count(*) FROM entries_v1 WHERE batch_id IS NULL AND seq <= ?", (last_seq,)
    ).fetchone()[0]
    if early:
        raise OutboxError(f"{early} pending entries precede the last batch; cannot upgrade")
    # the record's own CID is entries.cid now; blobs keeps only the others, by entry seq
    db.execute(
        "INSERT INTO blobs (cid, seq) SELECT b.cid, e.seq FROM blobs_v1 b "
        "JOIN entries_v1 e USING (record_id) WHERE b.cid != e.cid"
    )
    for table in ("blobs", "entries", "batches"):
        db.execute(f"DROP TABLE {table}_v1")
    db.execute(f"PRAGMA user_version={VERSION}")
    return count


def _checked_batch(
    db: sqlite3.Connection, batch: tuple[object, ...], *, after: int
) -> tuple[int, int, bytes]:
    batch_id, root, size = batch[0], batch[1], batch[2]
    members = db.execute(
        f"SELECT seq, proof, {ENTRY_COLS} FROM entries_v1 WHERE batch_id = ? ORDER BY seq",
        (batch_id,),
    ).fetchall()
    if not members or len(members) != size:
        raise OutboxError(f"batch {batch_id} has {len(members)} members, not {size}")
    first, last = int(members[0][0]), int(members[-1][0])
    span = db.execute(
        "SELECT count(*) FROM entries_v1 WHERE seq BETWEEN ? AND ?", (first, last)
    ).fetchone()[0]
    if span != size or first <= after:
        raise OutboxError(f"batch {batch_id} is not a run of entries after the previous batch")
    tree = MerkleTree([entry_from_row(m[2:]).commitment() for m in members])
    if tree.root != root:
        raise OutboxError(f"batch {batch_id} no longer matches its members (corrupt outbox)")
    for index, member in enumerate(members):
        if member[1] is None or decode_proof(member[1]).batch_path != tree.path(index):
            raise OutboxError(f"a stored proof of batch {batch_id} disagrees with its tree")
    return first, last, tree.packed()
