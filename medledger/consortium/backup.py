"""A consistent copy of a hospital directory, taken while its processes run.

The copy is itself a hospital directory: restoring is stopping the processes and putting
the copy in place. Each kind of state is copied the way its engine makes consistent:

- ``chain/`` (LMDB): ``Environment.copy(compact=True)`` inside one read transaction, the
  ``mdb_copy -c`` of py-lmdb, safe next to the running writer; the other files there (the
  validator's consensus checkpoint, written by atomic rename) are copied as they are.
- ``node-data/*.sqlite`` (outbox, ingest journal): SQLite's online backup API (what the
  ``sqlite3`` shell's ``.backup`` does), never a raw file copy of a live WAL database.
- ``blobs/`` (embedded store): :func:`node.blobstore.snapshot.copy_store` (its index with
  SQLite's backup API, then its append-only packs, under the store's shared lock).
- keystore, configs and secret files: copied with their modes (0600/0700 stay so).
"""

from __future__ import annotations

import shutil
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path

import lmdb

from medledger.consortium.exceptions import ConsortiumError, OutputExists
from medledger.consortium.hospital import (
    BLOB_DIR,
    CHAIN_DIR,
    KEYSTORE_DIR,
    NODE_DATA_DIR,
    OPERATOR_DIR,
    VALIDATOR_DIR,
)
from node.blobstore.snapshot import copy_sqlite, copy_store
from node.exceptions import NodeError

#: Never copied: the ledger's process locks.
_SKIP = {"LOCK", "lock", "tmp"}


@dataclass(slots=True)
class BackupReport:
    """What was copied, per kind of state."""

    files: list[str] = field(default_factory=list)
    chain: bool = False
    sqlite: list[str] = field(default_factory=list)
    blobs: int = 0  # pack files of the blob store


def _copy_lmdb(source: Path, target: Path) -> None:
    target.mkdir(parents=True, mode=0o700)
    env = lmdb.open(str(source), readonly=True, subdir=True, max_dbs=16)
    try:
        env.copy(str(target), compact=True)
    finally:
        env.close()


def _copy_sqlite(source: Path, target: Path) -> None:
    copy_sqlite(source, target)
    target.chmod(0o600)


def backup_hospital(home: Path, dest: Path) -> BackupReport:
    """Copy the hospital directory ``home`` into the new directory ``dest``.

    Raises
    ------
    OutputExists
        ``dest`` exists (a backup never overwrites).
    ConsortiumError
        ``home`` is not a hospital directory, or an engine refused to copy.
    """
    if not (home / "ledger.json").exists() or not (home / KEYSTORE_DIR).is_dir():
        raise ConsortiumError(f"{home} is not a hospital directory (no ledger.json/keystore)")
    if dest.exists():
        raise OutputExists(f"{dest} exists; a backup goes to a new directory")
    dest.mkdir(parents=True, mode=0o700)
    report = BackupReport()
    for item in sorted(home.iterdir()):
        if item.is_file():
            shutil.copy2(item, dest / item.name)
            report.files.append(item.name)
    shutil.copytree(home / KEYSTORE_DIR, dest / KEYSTORE_DIR)
    for keys in (VALIDATOR_DIR, OPERATOR_DIR):  # the other key directories, if any
        if (home / keys).is_dir():
            shutil.copytree(home / keys, dest / keys)
    try:
        lmdb_dir = home / CHAIN_DIR / "lmdb"
        if lmdb_dir.is_dir():
            _copy_lmdb(lmdb_dir, dest / CHAIN_DIR / "lmdb")
            report.chain = True
        (dest / CHAIN_DIR).mkdir(mode=0o700, exist_ok=True)
        for item in sorted((home / CHAIN_DIR).iterdir()) if (home / CHAIN_DIR).is_dir() else []:
            # the consensus checkpoint and the like: small files replaced atomically
            if item.is_file() and item.name not in _SKIP:
                shutil.copy2(item, dest / CHAIN_DIR / item.name)
        node_data = home / NODE_DATA_DIR
        (dest / NODE_DATA_DIR).mkdir(mode=0o700)
        for db in sorted(node_data.glob("*.sqlite")) if node_data.is_dir() else []:
            _copy_sqlite(db, dest / NODE_DATA_DIR / db.name)
            report.sqlite.append(db.name)
    except (lmdb.Error, sqlite3.Error) as exc:
        raise ConsortiumError(f"backup failed: {exc}") from None
    try:
        report.blobs = copy_store(home / BLOB_DIR, dest / BLOB_DIR)
    except (OSError, sqlite3.Error, NodeError) as exc:
        raise ConsortiumError(f"backup of the blob store failed: {exc}") from None
    return report
