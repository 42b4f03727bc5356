"""Garbage collection of the pack store: drop unreachable blocks, compact mostly-dead packs.

Runs under the store's exclusive lock (no put or pin meanwhile). In order:

1. every block not reachable from a pin is dropped from the index (one transaction);
2. each pack whose live bytes fell below :data:`COMPACT_BELOW` of its size is compacted: its
   live blocks are appended to another pack, that pack is fsynced, then one transaction
   points the blocks at their new places and forgets the old pack, and only then is the old
   file deleted. A crash before the switch leaves a torn tail in the new pack (cut off
   later) and the old pack intact and indexed; a crash after it leaves an old file no index
   row names, deleted on the next open or gc. Nothing indexed is ever missing.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import TYPE_CHECKING

from node.blobstore import cid as cidlib
from node.blobstore import reader
from node.blobstore.packfile import (
    PackAppender,
    cut_torn_tail,
    fsync_dir,
    pack_path,
    try_claim,
)
from node.blobstore.packindex import PackIndex
from node.exceptions import BlobStoreError
from node.typing import CID

if TYPE_CHECKING:
    from node.blobstore.embedded import EmbeddedBlobStore

#: A pack whose live bytes are below this fraction of its size is rewritten.
COMPACT_BELOW = 0.5


def cut_torn_tails(directory: Path, index: PackIndex) -> int:
    """Truncate every unclaimed pack to its committed size; delete packs the index forgot.

    Returns how many packs were changed. A pack a live writer holds is skipped: its bytes
    past the committed size are that writer's appends in flight, not a torn tail.
    """
    committed = index.packs()
    changed = 0
    for path in directory.glob("*.pack"):
        try:
            pack = int(path.stem)
        except ValueError:
            continue
        if pack not in committed:
            # ids are allocated in the index before their file exists, so a file without a
            # row is a compacted pack whose deletion a crash interrupted
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
            changed += 1
            continue
        fd = try_claim(path)
        if fd is None:
            continue
        try:
            changed += cut_torn_tail(fd, committed[pack])
        finally:
            os.close(fd)
    return changed


def reachable(pins: set[CID], fetch: reader.FetchBlock) -> set[CID]:
    """Every block under ``pins`` that can still be read (a damaged node ends its branch)."""
    live: set[CID] = set()
    stack = list(pins)
    while stack:
        cid = stack.pop()
        if cid in live:
            continue
        live.add(cid)
        if cidlib.parse(cid)[0] != cidlib.DAG_PB:
            continue
        try:
            _, block = reader.verified_block(cid, fetch)
            node = reader.decode_node(cid, block)
        except BlobStoreError:
            continue  # a missing/corrupted node: keep what we can still reach
        stack.extend(CID(cidlib.cid_text(link.cid)) for link in node.links)
    return live


def collect(store: EmbeddedBlobStore) -> int:
    """Drop unreachable blocks, compact, tidy; return how many blocks were dropped."""
    index = store.index
    live = reachable(index.pins(), store.read_block)
    dead = [c for c in index.all_cids() if c not in live]
    index.drop(dead)
    compact(store)
    cut_torn_tails(store.packs_dir, index)
    return len(dead)


def compact(store: EmbeddedBlobStore) -> list[int]:
    """Rewrite the packs that are mostly dead; return the ids of the packs deleted."""
    index = store.index
    live = index.live_bytes()
    victims = sorted(
        pack
        for pack, size in index.packs().items()
        if size > 0 and live.get(pack, 0) < size * COMPACT_BELOW
    )
    if not victims:
        return []
    durable = store._durable  # the store's own setting; this module is its gc half
    with PackAppender(
        store.packs_dir, index, durable=durable, avoid=frozenset(victims)
    ) as appender:
        moved = []
        for pack in victims:
            for cid, _ in index.blocks_in(pack):
                moved.append((cid, appender.append(store.read_block(cid))))
        sizes = appender.finish()
        index.commit(blocks=moved, sizes=sizes, moved=True, dead_packs=victims)
    for pack in victims:
        store.forget_pack(pack)
        with contextlib.suppress(FileNotFoundError):
            pack_path(store.packs_dir, pack).unlink()
    if durable:
        fsync_dir(store.packs_dir)
    return victims
