"""The ``FORMAT`` marker of an embedded store directory, checked before anything is opened.

There are no deployments of the earlier file-per-block layout (``blocks/<shard>/<cid>``,
``pins/<cid>``) to migrate, so a directory in that layout, or of any format this code does
not know, is refused with an error that names what was found instead of being read wrongly.
"""

from __future__ import annotations

import os
from pathlib import Path

from node.exceptions import UnsupportedStoreFormat

#: The one format this code reads and writes: pack files + SQLite index.
FORMAT = "medledger-blobstore packs v1"
MARKER = "FORMAT"


def ensure(root: Path) -> None:
    """Create the marker in a new or empty ``root``; refuse a directory of another format.

    The marker is written first (atomically, fsynced), so a store whose creation was
    interrupted is still recognised as this format and completed on the next open.
    """
    marker = root / MARKER
    try:
        found = marker.read_text(encoding="utf-8", errors="replace").strip()
    except FileNotFoundError:
        found = None
    except NotADirectoryError:
        raise UnsupportedStoreFormat(f"{root} is not a directory") from None
    if found is not None:
        if found != FORMAT:
            raise UnsupportedStoreFormat(
                f"{root} holds a blob store of format {found[:80]!r}; this version reads "
                f"only {FORMAT!r}"
            )
        return
    root.mkdir(parents=True, exist_ok=True)
    if (root / "blocks").is_dir():
        raise UnsupportedStoreFormat(
            f"{root} holds a blob store of the old file-per-block format (blocks/, pins/); "
            f"this version reads only {FORMAT!r} and does not migrate it"
        )
    if any(p.name != f".{MARKER}.tmp" for p in root.iterdir()):
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
    os.replace(tmp, marker)
    fd = os.open(root, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
