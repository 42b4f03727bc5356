"""Upgrading a case store written by an older node, in place, on open.

Version 1 (``user_version`` 0) had no delivery columns on ``grants``. Version 2 adds
``issued_at`` and ``delivery_signature`` (the signed ``GrantDelivery`` of
:mod:`keys.delivery`: on the grantor, the one it sends; on the grantee, the newest one it
accepted, so an older signed delivery cannot roll a grant back) and ``delivered_at`` (when
the grantee accepted it, for the grantee's inbox). Old rows keep ``NULL`` there: the next
signed delivery of such a grant is accepted as the first one.
"""

from __future__ import annotations

import logging
import sqlite3

log = logging.getLogger(__name__)

#: The layout :mod:`node.cases.store` writes (``PRAGMA user_version``).
VERSION = 2

#: The version 1 ``grants`` table, kept to build an old store in tests.
SCHEMA_V1_GRANTS = """
CREATE TABLE IF NOT EXISTS grants (
    grant_id    INTEGER PRIMARY KEY,
    direction   TEXT NOT NULL CHECK (direction IN ('issued', 'received')),
    referral_id INTEGER NOT NULL,
    case_id     BLOB NOT NULL,
    grantor     TEXT NOT NULL,
    grantee     TEXT NOT NULL,
    scope_root  BLOB NOT NULL,
    expires_at  INTEGER NOT NULL,
    package_cid TEXT,
    token       TEXT,
    state       TEXT NOT NULL
        CHECK (state IN ('issued', 'delivered', 'announced', 'replicated', 'revoked'))
)
"""

_ADDED = (
    ("issued_at", "INTEGER"),
    ("delivery_signature",
     "BLOB CHECK (delivery_signature IS NULL OR length(delivery_signature) = 65)"),
    ("delivered_at", "REAL"),
)  # fmt: skip


def upgrade(db: sqlite3.Connection) -> None:
    """Bring ``db`` (autocommit, no open transaction) to :data:`VERSION`, atomically.

    Adding columns keeps every row; a store another process upgraded while we waited for
    the write lock is left as it is.
    """
    db.execute("BEGIN IMMEDIATE")
    try:
        columns = {row[1] for row in db.execute("PRAGMA table_info(grants)")}
        added = [name for name, _ in _ADDED if name not in columns]
        for name, decl in _ADDED:
            if name in added:
                db.execute(f"ALTER TABLE grants ADD COLUMN {name} {decl}")
        db.execute(f"PRAGMA user_version={VERSION}")
        db.execute("COMMIT")
    except BaseException:
        db.execute("ROLLBACK")
        raise
    if added:
        log.info("case store upgraded to version %d (grants: %s)", VERSION, ", ".join(added))
