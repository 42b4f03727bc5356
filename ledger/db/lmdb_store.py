"""LMDB as py-evm's database: one environment per data dir, one named database per use.

LMDB commits are durable (``sync=True``: the commit returns after fsync) and atomic: a
process killed at any moment leaves the environment as of the last committed write
transaction. Several named databases share one environment, so a single write transaction
can cover py-evm's state, our commit seals and our log index together
(:meth:`LmdbEnvironment.commit`).

A data dir belongs to one process: an exclusive ``flock`` on ``LOCK`` is taken at open and
released by the kernel when the process dies (even by SIGKILL), so a crashed node never
leaves a stale lock behind.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import lmdb
from eth.abc import AtomicWriteBatchAPI
from eth.db.backends.base import BaseAtomicDB

from ledger.abc import KeyValueStoreAPI
from ledger.db.batch import PendingWrites, WriteBatch
from ledger.exceptions import StorageError

#: Address space reserved for the map; the file only grows as data is written.
DEFAULT_MAP_SIZE = 64 * 1024**3
MAX_NAMED_DBS = 16


class LmdbEnvironment:
    """An open LMDB environment in ``path``, exclusively owned by this process."""

    def __init__(self, path: Path, *, map_size: int = DEFAULT_MAP_SIZE) -> None:
        self.path = Path(path)
        try:
            self.path.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StorageError(f"cannot create data dir {self.path}: {exc}") from exc
        self._lock_fd = os.open(self.path / "LOCK", os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(self._lock_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            os.close(self._lock_fd)
            raise StorageError(f"data dir {self.path} is in use by another process") from exc
        try:
            self._env = lmdb.open(
                str(self.path / "lmdb"),
                map_size=map_size,
                max_dbs=MAX_NAMED_DBS,
                subdir=True,
                sync=True,
                metasync=True,
                readahead=False,
            )
        except lmdb.Error as exc:
            self._release_lock()
            raise StorageError(f"cannot open LMDB in {self.path}: {exc}") from exc
        self._dbs: dict[str, Any] = {}
        self._closed = False

    def _release_lock(self) -> None:
        fcntl.flock(self._lock_fd, fcntl.LOCK_UN)
        os.close(self._lock_fd)

    def _check_open(self) -> None:
        if self._closed:
            raise StorageError(f"storage in {self.path} is closed")

    def handle(self, name: str) -> Any:
        """The LMDB handle of the named database ``name`` (created on first use)."""
        self._check_open()
        if name not in self._dbs:
            self._dbs[name] = self._env.open_db(name.encode())
        return self._dbs[name]

    def store(self, name: str) -> LmdbStore:
        """A py-evm compatible key-value store over the named database ``name``."""
        return LmdbStore(self, name)

    def get(self, name: str, key: bytes) -> bytes | None:
        """One read in its own read transaction (a consistent snapshot)."""
        db = self.handle(name)
        with self._env.begin(db=db) as txn:
            value: bytes | None = txn.get(key)
        return value

    def commit(self, writes: Mapping[str, PendingWrites]) -> None:
        """Apply writes to several named databases in one durable write transaction."""
        self._check_open()
        handles = {name: self.handle(name) for name in writes}
        with self._env.begin(write=True) as txn:
            for name, pending in writes.items():
                db = handles[name]
                for key, value in pending.items():
                    if value is None:
                        txn.delete(key, db=db)
                    else:
                        txn.put(key, value, db=db)

    @contextmanager
    def reader(self) -> Iterator[Any]:
        """A read transaction, for cursor scans that must see one snapshot."""
        self._check_open()
        with self._env.begin() as txn:
            yield txn

    def close(self) -> None:
        """Close LMDB and release the data dir lock; idempotent."""
        if self._closed:
            return
        self._closed = True
        self._env.close()
        self._release_lock()


class LmdbStore(BaseAtomicDB, KeyValueStoreAPI):
    """One named LMDB database behaving as py-evm's ``AtomicDatabaseAPI``.

    Unbatched writes are committed (durably) one by one; ``atomic_batch()`` buffers its
    writes and commits them in a single LMDB write transaction when the context exits
    without an exception.
    """

    def __init__(self, env: LmdbEnvironment, name: str) -> None:
        self._env = env
        self._name = name
        self._db = env.handle(name)

    def __getitem__(self, key: bytes) -> bytes:
        value = self._env.get(self._name, key)
        if value is None:
            raise KeyError(key)
        return value

    def __setitem__(self, key: bytes, value: bytes) -> None:
        self._env.commit({self._name: {key: value}})

    def __delitem__(self, key: bytes) -> None:
        if not self._exists(key):
            raise KeyError(key)
        self._env.commit({self._name: {key: None}})

    def _exists(self, key: bytes) -> bool:
        return self._env.get(self._name, key) is not None

    @contextmanager
    def atomic_batch(self) -> Iterator[AtomicWriteBatchAPI]:
        def commit(pending: PendingWrites) -> None:
            self._env.commit({self._name: pending})

        with WriteBatch.commit_unless_raises(self, commit) as batch:
            yield batch

    def close(self) -> None:
        self._env.close()
