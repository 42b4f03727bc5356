"""The facade's SQLite index (``fhir.sqlite`` beside the outbox): versions and identifiers.

Written after the outbox commit that acknowledges the records: if the node dies in between,
the records are anchored but not reachable by ``Type/id`` (a new write of the same content
finds them again through the outbox's idempotency). Versions are numbered inside one SQL
statement, so two concurrent updates of one id get two numbers.
"""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

from keys.typing import RecordId
from node.fhir_rest.abc import ResourceIndexAPI
from node.fhir_rest.outcome import FhirRestError
from node.sqlite_layout import checked_version

VERSION = 1
SCHEMA = """
CREATE TABLE IF NOT EXISTS versions (
    rtype TEXT NOT NULL, rid TEXT NOT NULL, version INTEGER NOT NULL, record_id BLOB NOT NULL,
    PRIMARY KEY (rtype, rid, version)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS identifiers (key BLOB PRIMARY KEY, patient_id TEXT NOT NULL)
"""


class ResourceIndex(ResourceIndexAPI):
    """:class:`ResourceIndexAPI` in SQLite (WAL); one connection per thread."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._local = threading.local()
        db = self._db()
        checked_version(db, supported=VERSION, what="the FHIR index", error=FhirIndexError)
        for statement in SCHEMA.split(";"):
            db.execute(statement)
        db.execute(f"PRAGMA user_version={VERSION}")

    def _db(self) -> sqlite3.Connection:
        db: sqlite3.Connection | None = getattr(self._local, "db", None)
        if db is None:
            db = sqlite3.connect(self.path, isolation_level=None, timeout=30)
            db.execute("PRAGMA journal_mode=WAL")
            self._local.db = db
        return db

    def current(self, rtype: str, rid: str) -> tuple[int, RecordId] | None:
        row = self._db().execute(
            "SELECT version, record_id FROM versions WHERE rtype=? AND rid=?"
            " ORDER BY version DESC LIMIT 1", (rtype, rid)
        ).fetchone()  # fmt: skip
        return None if row is None else (int(row[0]), RecordId(bytes(row[1])))

    def version(self, rtype: str, rid: str, version: int) -> RecordId | None:
        row = (
            self._db()
            .execute(
                "SELECT record_id FROM versions WHERE rtype=? AND rid=? AND version=?",
                (rtype, rid, version),
            )
            .fetchone()
        )
        return None if row is None else RecordId(bytes(row[0]))

    def of_type(self, rtype: str) -> list[tuple[str, int, RecordId]]:
        rows = self._db().execute(
            "SELECT rid, MAX(version), record_id FROM versions WHERE rtype=? GROUP BY rid",
            (rtype,),
        )  # SQLite: the bare column comes from the row holding the MAX
        return [(str(r[0]), int(r[1]), RecordId(bytes(r[2]))) for r in rows]

    def add_version(self, rtype: str, rid: str, record_id: RecordId) -> int:
        row = self._db().execute(
            "INSERT INTO versions (rtype, rid, version, record_id) SELECT ?, ?,"
            " COALESCE(MAX(version), 0) + 1, ? FROM versions WHERE rtype=? AND rid=?"
            " RETURNING version", (rtype, rid, record_id, rtype, rid)
        ).fetchone()  # fmt: skip
        return int(row[0])

    def patient_for(self, identifier_key: bytes) -> str | None:
        row = (
            self._db()
            .execute("SELECT patient_id FROM identifiers WHERE key=?", (identifier_key,))
            .fetchone()
        )
        return None if row is None else str(row[0])

    def claim_identifier(self, identifier_key: bytes, patient_id: str) -> str:
        db = self._db()
        db.execute("INSERT OR IGNORE INTO identifiers (key, patient_id) VALUES (?, ?)",
                   (identifier_key, patient_id))  # fmt: skip
        found = self.patient_for(identifier_key)
        assert found is not None
        return found


class FhirIndexError(FhirRestError):
    """The index file was written by a newer node."""

    def __init__(self, message: str) -> None:
        super().__init__(500, message, code="exception")
