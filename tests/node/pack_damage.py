"""Damage a block of an embedded (pack) store behind its back, as a failing disk would."""

from __future__ import annotations

import os

from node.blobstore.embedded import EmbeddedBlobStore
from node.blobstore.packfile import pack_path
from node.typing import CID


def flip_byte(store: EmbeddedBlobStore, cid: CID, *, at: int | None = None) -> None:
    """Flip one bit of ``cid``'s bytes in its pack (the middle byte unless ``at`` is given)."""
    where = store.index.locate(cid)
    assert where is not None, cid
    offset = where.offset + (where.length // 2 if at is None else at)
    fd = os.open(pack_path(store.packs_dir, where.pack), os.O_RDWR)
    try:
        (byte,) = os.pread(fd, 1, offset)
        os.pwrite(fd, bytes([byte ^ 0x01]), offset)
    finally:
        os.close(fd)


def forget(store: EmbeddedBlobStore, cid: CID) -> None:
    """Remove ``cid`` from the index, as if the block had been lost."""
    store.index.drop([cid])
