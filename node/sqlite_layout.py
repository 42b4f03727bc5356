"""What the node's SQLite files (the outbox, the blob index) share about their layout.

Each file records its layout in ``PRAGMA user_version``; a file from a newer node is refused
by name rather than read wrongly, and an older one is upgraded by its owner on open.
"""

from __future__ import annotations

import sqlite3


def checked_version(
    db: sqlite3.Connection, *, supported: int, what: str, error: type[Exception]
) -> int:
    """The file's layout version; raise ``error`` if a newer node wrote it."""
    version = int(db.execute("PRAGMA user_version").fetchone()[0])
    if version > supported:
        raise error(
            f"{what} has layout {version}, written by a newer node; this version reads up to "
            f"{supported} (run that version, or restore a backup)"
        )
    return version


def execute_script(db: sqlite3.Connection, script: str) -> None:
    """Run each ``;``-separated statement of ``script`` inside the caller's transaction.

    ``Connection.executescript`` would commit the open transaction first.
    """
    for statement in script.split(";"):
        if statement.strip():
            db.execute(statement)
