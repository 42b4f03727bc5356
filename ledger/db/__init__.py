"""Storage: an LMDB environment, key-value stores over it, and a per-block write overlay."""

from ledger.db.batch import PendingWrites, WriteBatch
from ledger.db.lmdb_store import LmdbEnvironment, LmdbStore
from ledger.db.overlay import OverlayDB

__all__ = ["LmdbEnvironment", "LmdbStore", "OverlayDB", "PendingWrites", "WriteBatch"]
