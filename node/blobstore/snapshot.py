"""A consistent copy of a live embedded store (what ``consortium backup`` takes).

Order makes it consistent without stopping writers: under the store's shared lock (so no
garbage collection deletes or moves a pack meanwhile), the index is copied first with
SQLite's online backup API, then the packs. Packs only grow while the lock is held, so
every byte range the copied index names is in the copied packs; bytes past a copied pack's
committed size are a tail the copy cuts off when it is opened.
"""

from __future__ import annotations

import fcntl
import shutil
import sqlite3
from pathlib import Path

from node.blobstore import storeformat

INDEX = "index.sqlite"


def copy_store(source: Path, dest: Path) -> int:
    """Copy the store at ``source`` into the new directory ``dest``; return packs copied.

    A ``source`` that is missing or empty gives an empty ``dest`` (a store not used yet).
    """
    dest.mkdir(parents=True, mode=0o700)
    if not (source / storeformat.MARKER).exists():
        if source.is_dir() and any(source.iterdir()):
            storeformat.ensure(source)  # raises, naming what the directory holds instead
        return 0
    shutil.copy2(source / storeformat.MARKER, dest / storeformat.MARKER)
    (dest / "packs").mkdir()
    (dest / "lock").touch()
    with open(source / "lock", "rb") as lock:
        fcntl.flock(lock, fcntl.LOCK_SH)
        try:
            copy_sqlite(source / INDEX, dest / INDEX)
            packs = sorted((source / "packs").glob("*.pack"))
            for pack in packs:
                shutil.copy2(pack, dest / "packs" / pack.name)
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
    return len(packs)


def copy_sqlite(source: Path, target: Path) -> None:
    """A consistent copy of a live SQLite database, through SQLite's online backup API."""
    src = sqlite3.connect(f"file:{source}?mode=ro", uri=True, timeout=30)
    dst = sqlite3.connect(target)
    try:
        with dst:
            src.backup(dst)
    finally:
        src.close()
        dst.close()
