"""Balanced UnixFS layout, built while the bytes stream through.

Same tree as Kubo's balanced builder and ``ipfs-unixfs-importer``'s ``balanced`` layout:
leaves are grouped ``max_links`` at a time into parents, parents again, until one root is
left; a lone leaf is its own root. We keep one open group per level and close a group only
when a further sibling arrives (or at the end), so memory is ``O(levels  x  max_links)``
whatever the payload size, and each block is handed to ``sink`` as soon as it is final.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from node.blobstore import cid as cidlib
from node.blobstore.chunker import fixed_size
from node.blobstore.dagpb import Link, encode_file_node
from node.blobstore.hashahead import HashAhead
from node.blobstore.profile import Profile
from node.typing import CID

#: Receives each finished block: ``(text CID, codec, bytes)``.
BlockSink = Callable[[CID, int, bytes], None]


def _discard(cid: CID, codec: int, block: bytes) -> None:
    """A sink for computing a CID without storing anything."""


class BalancedBuilder:
    """Feed leaves in order, then :meth:`finish` for the root CID."""

    def __init__(self, *, profile: Profile, sink: BlockSink = _discard) -> None:
        self._max = profile.max_links
        self._sink = sink
        self._levels: list[list[Link]] = [[]]
        self._leaves = 0
        self._first_leaf: tuple[bytes, CID] | None = None

    def add_leaf(self, chunk: bytes, digest: bytes | None = None) -> None:
        """Emit one raw leaf, hashing it unless its SHA-256 ``digest`` is given."""
        if digest is None:
            binary, text = cidlib.block_cid(cidlib.RAW, chunk)
        else:
            binary = cidlib.cid_bytes(cidlib.RAW, digest)
            text = cidlib.cid_text(binary)
        self._sink(text, cidlib.RAW, chunk)
        self._leaves += 1
        if self._leaves == 1:
            self._first_leaf = (binary, text)
        self._push(0, Link(binary, len(chunk), len(chunk)))

    def _push(self, level: int, link: Link) -> None:
        if level == len(self._levels):
            self._levels.append([])
        group = self._levels[level]
        if len(group) == self._max:
            self._push(level + 1, self._close(group))
            group.clear()
        group.append(link)

    def _close(self, group: list[Link]) -> Link:
        block = encode_file_node(group)
        binary, text = cidlib.block_cid(cidlib.DAG_PB, block)
        self._sink(text, cidlib.DAG_PB, block)
        tsize = len(block) + sum(link.tsize for link in group)
        return Link(binary, tsize, sum(link.content_size for link in group))

    def finish(self) -> CID:
        """Close the open groups bottom-up and return the root CID."""
        if self._leaves == 0:
            self.add_leaf(b"")  # an empty file is one empty raw block, as in Kubo
        if self._leaves == 1 and self._first_leaf is not None:
            return self._first_leaf[1]
        level = 0
        while True:
            group = self._levels[level]
            top = level == len(self._levels) - 1
            if top and len(group) == 1:
                return cidlib.cid_text(group[0].cid)
            link = self._close(group)
            group.clear()
            if top:
                return cidlib.cid_text(link.cid)
            self._push(level + 1, link)
            level += 1


def build(source: Iterable[bytes], *, profile: Profile, sink: BlockSink = _discard) -> CID:
    """Chunk ``source`` with ``profile``, emit every block to ``sink``, return the root CID.

    Leaves are hashed one step ahead on a helper thread (see :mod:`node.blobstore.hashahead`),
    so SHA-256 of leaf ``i`` overlaps whatever produces leaf ``i + 1`` (e.g. its encryption);
    ``sink`` is still called on the caller's thread, in order.
    """
    builder = BalancedBuilder(profile=profile, sink=sink)
    with HashAhead() as hasher:
        for chunk, digest in hasher.hashed(fixed_size(source, profile.chunk_size)):
            builder.add_leaf(chunk, digest)
    return builder.finish()
