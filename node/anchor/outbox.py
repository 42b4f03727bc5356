"""The durable outbox: anchor entries survive any crash between ingest and the chain.

State machine (one row per record in ``entries``, one per batch in ``batches``)::

    entry:  pending --form_batch--> (member of a batch: the batches row whose run covers it)
    batch:  batched --mark_submitted--> submitted --mark_anchored--> anchored
            batched ---------------mark_anchored-----------------> anchored
            submitted --mark_submitted (re-submit after a crash)--> submitted

A record's state is ``pending`` until its batch exists, then its batch's state.

Why it is crash-safe:

- ``append`` commits before it returns, in WAL mode with ``synchronous=FULL`` (the commit is
  fsync'd), and ingest acknowledges only after ``append`` returned: an acknowledged record is
  on disk.
- ``form_batch`` takes the oldest pending entries (the run after the last batch), computes
  the Merkle tree and stores the batch with its run and its tree's levels (every member's
  proof) in **one transaction** that touches no entry: after a crash either the batch
  exists with all its proofs, or its entries are still pending. Runs never overlap, so an
  entry is in at most one batch, ever.
- the drainer (:mod:`node.anchor.drain`) resumes the oldest unanchored batch before forming a new
  one and always asks the chain (``lookup(root)``) before submitting, so a batch whose
  transaction landed before the crash is recorded, not re-sent.
- every transition is idempotent: repeating one after a crash is a no-op, and a transition
  the state machine forbids raises :class:`IllegalTransition`.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from keys.typing import RecordId
from node.anchor.entry import AnchorEntry, OutboxBatch, RecordState
from node.anchor.outbox_migrate import is_v1, upgrade
from node.anchor.outbox_schema import (
    ENTRY_COLS,
    SCHEMA,
    VERSION,
    WHERE_CONTENT,
    WHERE_ID,
    entry_from_row,
)
from node.exceptions import IllegalTransition, OutboxError, UnknownRecord
from node.proof.commitment import anchor_commitment
from node.proof.merkle import MerkleTree, packed_path
from node.proof.record import AnchorInfo, RecordProof
from node.sqlite_layout import checked_version, execute_script
from node.typing import CID, BatchId, ContentHash, MerkleHash, PatientPseudonym, TxHash

#: What a crypto-shredded record holds instead of a wrapped DEK: one byte that is no wrapped
#: key of any format, so every unwrap fails while the entry (and its proof) stays readable.
SHREDDED_KEY = b"\x00"
#: What a batch's leaves are made of (see :func:`_commitments`).
_LEAF_COLS = "salt, record_id, pseudonym, content_hash"
#: Content-hash prefixes probed per statement (well under SQLite's 32,766 parameters).
_PROBE_CHUNK = 500


class Outbox:
    """The outbox in one SQLite file. One process drains it at a time.

    One ``Outbox`` object per thread (it holds one SQLite connection); several objects on the
    same file, in threads or processes, are safe: writers are serialized by
    ``BEGIN IMMEDIATE`` (waiting up to 30 s), readers see committed state (WAL).

    Parameters
    ----------
    path
        The database file; created with its schema if absent.
    """

    def __init__(self, path: Path) -> None:
        self._db = sqlite3.connect(path, isolation_level=None, timeout=30)
        mode = self._db.execute("PRAGMA journal_mode=WAL").fetchone()[0]
        if mode != "wal":
            raise OutboxError(f"the outbox needs WAL journaling, the file system gave {mode!r}")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.execute("PRAGMA foreign_keys=ON")
        version = checked_version(self._db, supported=VERSION, what="the outbox",
                                  error=OutboxError)  # fmt: skip
        if version < VERSION and is_v1(self._db):
            upgrade(self._db)
        with self._tx():
            execute_script(self._db, SCHEMA)
            if version < VERSION:
                self._db.execute(f"PRAGMA user_version={VERSION}")

    def close(self) -> None:
        self._db.close()

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        self._db.execute("BEGIN IMMEDIATE")
        try:
            yield self._db
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")

    # --- ingest side -----------------------------------------------------------------------

    def append(self, entry: AnchorEntry, *, blobs: Iterable[CID] = ()) -> tuple[RecordId, bool]:
        """Durably add an entry; return ``(record_id, created)``.

        ``blobs`` are the CIDs of every ciphertext stored for the record besides
        ``entry.cid`` (a DICOM study's instances), kept so that :meth:`referenced_cids` can
        tell them from orphans a crash left behind (``entry.cid`` among them is ignored).
        The same content for the same patient is one record: appending it again returns the
        existing record id with ``created=False`` and changes nothing.
        """
        return self.append_many([(entry, blobs)])[0]

    def append_many(
        self, items: Sequence[tuple[AnchorEntry, Iterable[CID]]]
    ) -> list[tuple[RecordId, bool]]:
        """:meth:`append` for many entries in one transaction (one fsync: group commit).

        All or nothing: after a crash either every entry is in the outbox or none is.

        Which entries are new is decided inside the write transaction (writers are
        serialized): one probe of the content index for the whole group, then the new
        entries in one ``executemany``. An entry whose content its patient already has (a
        retried import, the same content twice in one group) becomes that record.
        """
        if not items:
            return []
        with self._tx() as db:
            held = self._held(db, [e for e, _ in items])
            results: list[tuple[RecordId, bool]] = []
            fresh: list[tuple[AnchorEntry, Iterable[CID]]] = []
            for entry, blobs in items:
                key = (entry.pseudonym, entry.content_hash)
                if key in held:
                    results.append((held[key], False))
                    continue
                held[key] = entry.record_id
                fresh.append((entry, blobs))
                results.append((entry.record_id, True))
            db.executemany(
                f"INSERT INTO entries ({ENTRY_COLS}) VALUES (?, ?, ?, ?, ?, ?, ?)",
                [(e.record_id, e.kind.text, e.pseudonym, e.content_hash, e.salt, e.cid,
                  e.wrapped_key) for e, _ in fresh],
            )  # fmt: skip
            for entry, blobs in fresh:
                extra = set(blobs) - {entry.cid}
                if extra:
                    seq = db.execute(f"SELECT seq FROM entries WHERE {WHERE_ID}",
                                     (entry.record_id,)).fetchone()[0]  # fmt: skip
                    db.executemany("INSERT OR IGNORE INTO blobs (cid, seq) VALUES (?, ?)",
                                   [(cid, seq) for cid in sorted(extra)])  # fmt: skip
        return results

    def _held(
        self, db: sqlite3.Connection, entries: Sequence[AnchorEntry]
    ) -> dict[tuple[bytes, bytes], RecordId]:
        """The records already holding the content of some of ``entries``, by (patient, hash)."""
        wanted = {(e.pseudonym, e.content_hash) for e in entries}
        prefixes = sorted({e.content_hash[:8] for e in entries})
        held: dict[tuple[bytes, bytes], RecordId] = {}
        for at in range(0, len(prefixes), _PROBE_CHUNK):
            chunk = prefixes[at : at + _PROBE_CHUNK]
            rows = db.execute(
                "SELECT pseudonym, content_hash, record_id FROM entries "
                f"WHERE substr(content_hash, 1, 8) IN ({', '.join('?' * len(chunk))})",
                chunk,
            )
            for pseudonym, content_hash, record_id in rows:
                if (pseudonym, content_hash) in wanted:
                    held[(pseudonym, content_hash)] = RecordId(record_id)
        return held

    def replace_key(self, record_id: RecordId, *, cid: CID, wrapped_key: bytes) -> None:
        """Point a record at a re-encrypted ciphertext and its new wrapped DEK (re-keying).

        The anchor commitment does not cover the CID or the key, so proofs stay valid.
        """
        with self._tx() as db:
            cur = db.execute(
                f"UPDATE entries SET cid = ?2, wrapped_key = ?3 WHERE {WHERE_ID}",
                (record_id, cid, wrapped_key),
            )
            if cur.rowcount != 1:
                raise UnknownRecord("no outbox entry has this record id")

    def shred_key(self, record_id: RecordId) -> None:
        """Overwrite the record's wrapped DEK with :data:`SHREDDED_KEY` (crypto-shredding).

        ``secure_delete`` zeroes the freed bytes and the WAL is checkpointed and truncated, so
        the old wrapped key does not linger in the database files.
        """
        self._db.execute("PRAGMA secure_delete=ON")
        with self._tx() as db:
            cur = db.execute(
                f"UPDATE entries SET wrapped_key = ?2 WHERE {WHERE_ID}", (record_id, SHREDDED_KEY)
            )
            if cur.rowcount != 1:
                raise UnknownRecord("no outbox entry has this record id")
        self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    def holds(self, record_id: RecordId) -> bool:
        """Whether ``record_id`` is committed (then every ciphertext stored for it is kept).

        How an ingest that failed late tells whether its ciphertexts are orphans: they were
        stored for this record id alone (fresh data key), so they are referenced exactly
        when the record is.
        """
        row = self._db.execute(f"SELECT 1 FROM entries WHERE {WHERE_ID}", (record_id,))
        return row.fetchone() is not None

    def referenced_cids(self) -> set[CID]:
        """Every CID some record references (manifests, payloads, DICOM instances).

        A ciphertext in the blob store that is not in this set was stored by an ingest that
        never reached its outbox commit (a crash, or a failed discard): an orphan, unreadable
        without its data key, which was never kept. Sweep orphans only while no ingest runs
        (at node start), since an ingest in progress has stored blobs not yet referenced.
        """
        rows = self._db.execute("SELECT cid FROM entries UNION SELECT cid FROM blobs")
        return {CID(r[0]) for r in rows}

    def find(self, pseudonym: PatientPseudonym, content_hash: ContentHash) -> RecordId | None:
        """The record that already holds this content for this patient, if any."""
        row = self._db.execute(
            f"SELECT record_id FROM entries WHERE {WHERE_CONTENT}",
            (pseudonym, content_hash),
        ).fetchone()
        return None if row is None else RecordId(row[0])

    def entry(self, record_id: RecordId) -> AnchorEntry:
        row = self._db.execute(
            f"SELECT {ENTRY_COLS} FROM entries WHERE {WHERE_ID}", (record_id,)
        ).fetchone()
        if row is None:
            raise UnknownRecord("no outbox entry has this record id")
        return entry_from_row(row)

    def record_ids(self) -> list[RecordId]:
        return [RecordId(r[0]) for r in self._db.execute("SELECT record_id FROM entries")]

    def _last_batched(self, db: sqlite3.Connection) -> int:
        """The seq of the newest batched entry (0 if none): pending entries come after it."""
        row = db.execute("SELECT max(last_seq) FROM batches").fetchone()
        return 0 if row[0] is None else int(row[0])

    def pending_count(self) -> int:
        row = self._db.execute(
            "SELECT count(*) FROM entries WHERE seq > ?", (self._last_batched(self._db),)
        ).fetchone()
        return int(row[0])

    # --- anchoring side --------------------------------------------------------------------

    def submitted_at(self, batch_id: BatchId) -> float | None:
        """When the batch's transaction was last sent (``None`` if never noted)."""
        row = self._db.execute(
            "SELECT submitted_at FROM batches WHERE batch_id = ?", (batch_id,)
        ).fetchone()
        if row is None:
            raise OutboxError(f"no batch {batch_id}")
        return None if row[0] is None else float(row[0])

    def open_batch_head(self) -> tuple[BatchId, MerkleHash] | None:
        """Id and root of the oldest batch not yet anchored, without reading its members.

        The cheap question the drain loop asks while it waits; :meth:`open_batch` re-reads
        and re-checks the members.
        """
        row = self._db.execute(
            "SELECT batch_id, root FROM batches WHERE state != 'anchored' ORDER BY batch_id LIMIT 1"
        ).fetchone()
        return None if row is None else (BatchId(row[0]), MerkleHash(row[1]))

    def open_batch(self) -> OutboxBatch | None:
        """The oldest batch not yet anchored (a crash may have left it), if any."""
        row = self._db.execute(
            "SELECT batch_id, root, size, first_seq, last_seq FROM batches "
            "WHERE state != 'anchored' ORDER BY batch_id LIMIT 1"
        ).fetchone()
        if row is None:
            return None
        batch_id, root = BatchId(row[0]), MerkleHash(row[1])
        members = self._db.execute(
            f"SELECT seq, {_LEAF_COLS} FROM entries WHERE seq BETWEEN ? AND ? ORDER BY seq",
            (row[3], row[4]),
        ).fetchall()
        commitments = _commitments(members)
        if len(commitments) != row[2] or MerkleTree(commitments).root != root:
            raise OutboxError(f"batch {batch_id} no longer matches its members (corrupt outbox)")
        return OutboxBatch(batch_id, root, commitments)

    def form_batch(self, max_size: int) -> OutboxBatch | None:
        """Make the up to ``max_size`` oldest pending entries a new batch.

        Stores the batch's run and tree (every member's proof) in one transaction; ``None``
        if nothing is pending.
        """
        if max_size < 1:
            raise ValueError("a batch holds at least one entry")
        with self._tx() as db:
            rows = db.execute(
                f"SELECT seq, {_LEAF_COLS} FROM entries WHERE seq > ? ORDER BY seq LIMIT ?",
                (self._last_batched(db), max_size),
            ).fetchall()
            if not rows:
                return None
            commitments = _commitments(rows)
            tree = MerkleTree(commitments)
            cur = db.execute(
                "INSERT INTO batches (root, size, state, first_seq, last_seq, tree) "
                "VALUES (?, ?, 'batched', ?, ?, ?)",
                (tree.root, len(rows), rows[0][0], rows[-1][0], tree.packed()),
            )
            batch_id = BatchId(int(cur.lastrowid or 0))
        return OutboxBatch(batch_id, tree.root, commitments)

    def _batch_state(self, batch_id: BatchId) -> tuple[str, bytes | None, int | None]:
        row = self._db.execute(
            "SELECT state, tx_hash, block_number FROM batches WHERE batch_id = ?", (batch_id,)
        ).fetchone()
        if row is None:
            raise OutboxError(f"no batch {batch_id}")
        return row[0], row[1], row[2]

    def batch_state(self, batch_id: BatchId) -> RecordState:
        """The state of one batch (``batched``, ``submitted`` or ``anchored``)."""
        return RecordState(self._batch_state(batch_id)[0])

    def mark_submitted(self, batch_id: BatchId, tx_hash: TxHash, *, at: float) -> None:
        """Note the transaction that carries the batch root.

        Idempotent; a re-submission after a crash replaces the hash.
        """
        if len(tx_hash) != 32:
            raise ValueError("a transaction hash is 32 bytes")
        with self._tx() as db:
            state, _, _ = self._batch_state(batch_id)
            if state == "anchored":
                raise IllegalTransition(f"batch {batch_id} is anchored; it cannot be re-submitted")
            db.execute(
                "UPDATE batches SET state = 'submitted', tx_hash = ?, submitted_at = ? "
                "WHERE batch_id = ?",
                (tx_hash, at, batch_id),
            )

    def mark_anchored(self, batch_id: BatchId, anchor: AnchorInfo) -> None:
        """Note the block holding the batch root (idempotent for the same anchor)."""
        with self._tx() as db:
            state, tx, block = self._batch_state(batch_id)
            if state == "anchored":
                if (tx, block) != (anchor.tx_hash, anchor.block_number):
                    raise IllegalTransition(f"batch {batch_id} is already anchored elsewhere")
                return
            db.execute(
                "UPDATE batches SET state = 'anchored', tx_hash = ?, block_number = ? "
                "WHERE batch_id = ?",
                (anchor.tx_hash, anchor.block_number, batch_id),
            )

    # --- reading proofs --------------------------------------------------------------------

    def _locate(self, record_id: RecordId) -> tuple[tuple[Any, ...], tuple[Any, ...] | None]:
        """The record's ``(seq, pseudonym, content_hash, salt)`` and its batch row, if any.

        The batch is the one whose run ends at or after the record's seq (``last_seq`` is
        indexed) and starts at or before it.
        """
        entry = self._db.execute(
            f"SELECT seq, pseudonym, content_hash, salt FROM entries WHERE {WHERE_ID}",
            (record_id,),
        ).fetchone()
        if entry is None:
            raise UnknownRecord("no outbox entry has this record id")
        batch = self._db.execute(
            "SELECT batch_id, first_seq, size, state, tx_hash, block_number, last_seq "
            "FROM batches WHERE last_seq >= ? ORDER BY last_seq LIMIT 1",
            (entry[0],),
        ).fetchone()
        if batch is not None and batch[1] > entry[0]:
            batch = None  # cannot happen while runs follow each other; never a wrong batch
        return entry, batch

    def state(self, record_id: RecordId) -> RecordState:
        _, batch = self._locate(record_id)
        return RecordState.PENDING if batch is None else RecordState(batch[3])

    def proof(self, record_id: RecordId) -> RecordProof:
        """The record's inclusion proof, with its anchor once the batch is anchored.

        The path is read from the batch's stored tree levels: one 32-byte slice per level.

        Raises
        ------
        UnknownRecord
            No such record.
        OutboxError
            The record is still pending (not in a batch yet).
        """
        (seq, pseudonym, content_hash, salt), batch = self._locate(record_id)
        if batch is None:
            raise OutboxError("the record is pending; it has no proof until it is batched")
        batch_id, first_seq, size, state = batch[:4]
        if batch[6] - first_seq + 1 == size:  # no seq missing from the run (the usual case)
            index = seq - first_seq
        else:
            index = self._db.execute(
                "SELECT count(*) FROM entries WHERE seq >= ? AND seq < ?", (first_seq, seq)
            ).fetchone()[0]
        with self._db.blobopen("batches", "tree", batch_id, readonly=True) as tree:

            def read(offset: int, length: int) -> bytes:
                tree.seek(offset)
                return tree.read(length)

            path = packed_path(read, size, index)
        proof = RecordProof(record_id, PatientPseudonym(pseudonym), ContentHash(content_hash),
                            salt, path)  # fmt: skip
        if state == "anchored":
            proof = proof.with_anchor(AnchorInfo(TxHash(batch[4]), batch[5]))
        return proof


def _commitments(rows: Sequence[tuple[Any, ...]]) -> tuple[MerkleHash, ...]:
    """Leaf data of ``(seq, salt, record_id, pseudonym, content_hash)`` rows, in order.

    Straight from the columns: the row's lengths were checked when it was written (and the
    table's ``CHECK`` constraints hold them), so no :class:`AnchorEntry` is built per leaf.
    """
    return tuple(anchor_commitment(salt=r[1], record_id=r[2], pseudonym=r[3], content_hash=r[4])
                 for r in rows)  # fmt: skip
