"""The outbox's SQLite schema and row mapping (see :mod:`node.outbox` for the state machine).

``CHECK`` constraints restate the invariants the code keeps (fixed field lengths, the batch
states), so a bug that breaks one fails loudly at the write instead of corrupting proofs.
"""

from __future__ import annotations

from typing import Any

from node.entry import AnchorEntry, RecordKind
from node.typing import CID, ContentHash, PatientPseudonym, RecordId

SCHEMA = """
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
ENTRY_COLS = "record_id, kind, pseudonym, content_hash, salt, cid, wrapped_key"


def entry_from_row(row: tuple[Any, ...]) -> AnchorEntry:
    return AnchorEntry(
        RecordId(row[0]), RecordKind(row[1]), PatientPseudonym(row[2]), ContentHash(row[3]),
        row[4], CID(row[5]), row[6],
    )  # fmt: skip
