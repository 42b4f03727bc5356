"""The ``FORMAT`` marker of an embedded store directory, checked before anything is opened.

There are no deployments of the earlier file-per-block layout (``blocks/<shard>/<cid>``,
``pins/<cid>``) to migrate, so a directory in that layout, or of any format this code does
not know, is refused with an error that names what was found instead of being read wrongly.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path

from node.exceptions import UnsupportedStoreFormat

#: The one format this code reads and writes: pack files + SQLite index.
FORMAT = "medledger-blobstore packs v1"
MARKER = "FORMAT"
#: Held while a new store's marker is written (see :func:`ensure`).
LOCK = ".FORMAT.lock"


def _read_marker(root: Path) -> str | None:
    try:
        return (root / MARKER).read_text(encoding="utf-8", errors="replace").strip()
    except FileNotFoundError:
        return None
    except NotADirectoryError:
        raise UnsupportedStoreFormat(f"{root} is not a directory") from None


def _check(root: Path, found: str) -> None:
    if found != FORMAT:
        raise UnsupportedStoreFormat(
            f"{root} holds a blob store of format {found[:80]!r}; this version reads "
            f"only {FORMAT!r}"
        )


def ensure(root: Path) -> None:
    """Create the marker in a new or empty ``root``; refuse a directory of another format.

    The marker is written first (atomically, fsynced), so a store whose creation was
    interrupted is still recognised as this format and completed on the next open.
    Creation holds an exclusive lock on ``.FORMAT.lock``: a hospital's node and gateway
    open the same new store at the same moment, and without it one of them could see the
    other's first files (or lose its temporary marker to the other's rename) and refuse
    the store.
    """
    found = _read_marker(root)
    if found is not None:
        _check(root, found)
        return
    root.mkdir(parents=True, exist_ok=True)
    lock_fd = os.open(root / LOCK, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(lock_fd, fcntl.LOCK_EX)
        found = _read_marker(root)  # the other process may have created it meanwhile
        if found is not None:
            _check(root, found)
            return
        _create(root)
    finally:
        os.close(lock_fd)  # releases the lock


def _create(root: Path) -> None:
    if (root / "blocks").is_dir():
        raise UnsupportedStoreFormat(
            f"{root} holds a blob store of the old file-per-block format (blocks/, pins/); "
            f"this version reads only {FORMAT!r} and does not migrate it"
        )
    if any(p.name not in (f".{MARKER}.tmp", LOCK) for p in root.iterdir()):
        raise UnsupportedStoreFormat(
            f"{root} is not empty and has no {MARKER} file: not a blob store of format {FORMAT!r}"
        )
    tmp = root / f".{MARKER}.tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        os.write(fd, f"{FORMAT}\n".encode())
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, root / MARKER)
    fd = os.open(root, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
