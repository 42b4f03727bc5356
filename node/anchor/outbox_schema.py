"""The outbox's SQLite schema and row mapping (see :mod:`node.anchor.outbox` for the state machine).

``blobs`` names the ciphertexts a record holds *besides* its own ``entries.cid`` (a DICOM
study's instances), so that the start-up sweep can tell them from orphans; a small record
has no ``blobs`` row (one random-key index insert per record fewer on the ingest path).

``CHECK`` constraints restate the invariants the code keeps (fixed field lengths, the batch
states), so a bug that breaks one fails loudly at the write instead of corrupting proofs.
"""

from __future__ import annotations

from typing import Any

from contracts.typing import RecordKind
from keys.typing import RecordId
from node.anchor.entry import AnchorEntry
from node.typing import CID, ContentHash, PatientPseudonym

#: The layout this code writes (``PRAGMA user_version``); version 1 is migrated on open by
#: :mod:`node.anchor.outbox_migrate`.
VERSION = 2

#: Entries are found through indexes on the first 8 bytes of the record id and of the content
#: hash (both uniformly random), not on the 32-byte values: a random-key index insert writes
#: a page per record once the index outgrows a group, and 8-byte keys keep the two indexes a
#: quarter of the size. A lookup checks the whole value. The rules those values obeyed as
#: ``UNIQUE`` constraints are kept by :meth:`~node.anchor.outbox.Outbox.append_many`, under the
#: write lock: one record per patient and content, and record ids are 32 random bytes.
#:
#: A batch is the run of entries ``first_seq .. last_seq`` (seq order): batches are always
#: formed from the oldest pending entries, and entries are appended in seq order under the
#: write lock, so the pending entries are always the ones after the last batch. Forming a
#: batch therefore writes one ``batches`` row (its tree's levels, for every member's proof)
#: and touches no entry.
SCHEMA = """
CREATE TABLE IF NOT EXISTS batches (
    batch_id     INTEGER PRIMARY KEY AUTOINCREMENT,
    root         BLOB NOT NULL UNIQUE CHECK (length(root) = 32),
    size         INTEGER NOT NULL CHECK (size > 0),
    state        TEXT NOT NULL CHECK (state IN ('batched', 'submitted', 'anchored')),
    tx_hash      BLOB CHECK (tx_hash IS NULL OR length(tx_hash) = 32),
    submitted_at REAL,
    block_number INTEGER,
    first_seq    INTEGER NOT NULL,
    last_seq     INTEGER NOT NULL UNIQUE CHECK (last_seq >= first_seq),
    tree         BLOB NOT NULL CHECK (length(tree) % 32 = 0)
);
CREATE TABLE IF NOT EXISTS entries (
    seq          INTEGER PRIMARY KEY AUTOINCREMENT,
    record_id    BLOB NOT NULL CHECK (length(record_id) = 32),
    kind         TEXT NOT NULL,
    pseudonym    BLOB NOT NULL CHECK (length(pseudonym) = 32),
    content_hash BLOB NOT NULL CHECK (length(content_hash) = 32),
    salt         BLOB NOT NULL CHECK (length(salt) = 16),
    cid          TEXT NOT NULL,
    wrapped_key  BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS entries_by_id ON entries (substr(record_id, 1, 8));
CREATE INDEX IF NOT EXISTS entries_by_content ON entries (substr(content_hash, 1, 8));
CREATE TABLE IF NOT EXISTS blobs (
    cid          TEXT PRIMARY KEY,
    seq          INTEGER NOT NULL REFERENCES entries (seq)
);
"""
#: A record by id (``?1``), through ``entries_by_id``.
WHERE_ID = "substr(record_id, 1, 8) = substr(?1, 1, 8) AND record_id = ?1"
#: A record by patient (``?1``) and content (``?2``), through ``entries_by_content``.
WHERE_CONTENT = (
    "substr(content_hash, 1, 8) = substr(?2, 1, 8) AND pseudonym = ?1 AND content_hash = ?2"
)
ENTRY_COLS = "record_id, kind, pseudonym, content_hash, salt, cid, wrapped_key"


def entry_from_row(row: tuple[Any, ...]) -> AnchorEntry:
    return AnchorEntry(
        RecordId(row[0]), RecordKind.parse(row[1]), PatientPseudonym(row[2]), ContentHash(row[3]),
        row[4], CID(row[5]), row[6],
    )  # fmt: skip
