"""The embedded backend: blocks appended to pack files, found through a SQLite index.

Layout under ``root`` (see :mod:`node.blobstore.storeformat` for the ``FORMAT`` marker):
``packs/<id>.pack`` (append-only, rolled at :data:`~node.blobstore.packfile.ROLL_BYTES`),
``index.sqlite`` (CID -> pack, offset, length; the pins; each pack's committed size), ``lock``.

Why packs: a file per 1 MiB block paid a create + write + fsync per block (and a pin file
per record), capping puts at the disk's per-file fsync rate; appending to one file pays one
fsync per put (or per group of small blobs, :meth:`EmbeddedBlobStore.put_many`).

Crash safety, in this order for every put:

1. the blocks are appended past the pack's committed size and the pack is ``fsync``-ed;
2. one index transaction names them, moves the committed size and adds the pin.

A crash before 2 leaves only unnamed bytes past the committed size (a torn tail), cut off
when the store is opened or the pack next claimed; no index entry ever points at bytes that
were not durable. ``get`` re-hashes every block anyway, so bytes damaged later are refused.

Concurrency: ``put``/``pin`` hold a shared ``flock`` on ``lock`` and ``gc`` an exclusive one,
so a collection (which drops and moves blocks) never runs under a put that has not pinned
yet; concurrent puts append to different packs (:mod:`node.blobstore.packfile`).
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path

from node.blobstore import cid as cidlib
from node.blobstore import packgc, reader, storeformat
from node.blobstore.abc import BlobStoreAPI
from node.blobstore.layout import build
from node.blobstore.packfile import PackAppender, PackReader
from node.blobstore.packindex import Location, PackIndex
from node.blobstore.profile import DEFAULT_PROFILE, Profile
from node.exceptions import BlobNotFound, BlobStoreError
from node.typing import CID

#: A group larger than this many bytes is refused by :meth:`EmbeddedBlobStore.put_many`:
#: group commit is for small blobs held in memory; large ones stream through ``put``.
MAX_GROUP_BYTES = 256 * 1024 * 1024


class EmbeddedBlobStore(BlobStoreAPI):
    """Content-addressed store in a local directory, CIDs identical to Kubo's for ``profile``.

    Parameters
    ----------
    root
        Directory of the store (created if missing; refused if it holds another format).
    profile
        Import profile used by :meth:`put`; reading works for any profile.
    durable
        ``fsync`` packs and the index (turn off only for throwaway stores).
    """

    def __init__(
        self,
        root: str | os.PathLike[str],
        *,
        profile: Profile = DEFAULT_PROFILE,
        durable: bool = True,
    ) -> None:
        self.root = Path(root)
        self.profile = profile
        self._durable = durable
        storeformat.ensure(self.root)
        self.packs_dir = self.root / "packs"
        self.packs_dir.mkdir(exist_ok=True)
        (self.root / "lock").touch(exist_ok=True)
        self.index = PackIndex(self.root / "index.sqlite", durable=durable)
        self._reader = PackReader(self.packs_dir)
        with self._locked(fcntl.LOCK_SH):
            packgc.cut_torn_tails(self.packs_dir, self.index)

    # -- locking and blocks --------------------------------------------------------------

    @contextlib.contextmanager
    def _locked(self, mode: int) -> Iterator[None]:
        with open(self.root / "lock", "rb") as handle:
            fcntl.flock(handle, mode)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def _appender(self) -> PackAppender:
        return PackAppender(self.packs_dir, self.index, durable=self._durable)

    def read_block(self, cid: CID) -> bytes:
        """Raw, unverified bytes of a block: one index lookup and one ``pread``."""
        where = self.index.locate(cid)
        if where is None:
            raise BlobNotFound(f"block {cid} is not in the store")
        try:
            return self._reader.read(cid, where)
        except BlobNotFound:
            # a gc in another process compacted its pack away after our lookup: look again
            moved = self.index.locate(cid)
            if moved is None or moved == where:
                raise
            return self._reader.read(cid, moved)

    # -- BlobStoreAPI --------------------------------------------------------------------

    def put(self, source: Iterable[bytes], *, pin: bool = True) -> CID:
        """Import ``source`` with the store's profile; see :meth:`BlobStoreAPI.put`.

        Blocks are appended as the builder emits them (written on worker threads while the
        caller keeps encrypting and hashing); when this returns the packs are fsynced and one
        committed index transaction names every block and the pin.
        """
        with self._locked(fcntl.LOCK_SH), self._appender() as appender:
            named: dict[CID, Location] = {}
            index = self.index

            def store(cid: CID, codec: int, block: bytes) -> None:
                if cid in named or index.locate(cid) is not None:
                    return  # content-addressed: an indexed name already holds these bytes
                named[cid] = appender.append(block)

            root = build(source, profile=self.profile, sink=store)
            sizes = appender.finish()
            index.commit(blocks=named.items(), sizes=sizes, pins=[root] if pin else [])
        return root

    def put_many(self, payloads: Sequence[bytes], *, pin: bool = True) -> list[CID]:
        """Small payloads as a group: one append, one ``fsync``, one index transaction.

        Same CIDs as :meth:`put` gives each payload alone; all or nothing as far as the
        caller is concerned (a failure leaves at most a torn tail, cut off later).
        """
        if sum(len(p) for p in payloads) > MAX_GROUP_BYTES:
            raise BlobStoreError(f"a group of small blobs holds at most {MAX_GROUP_BYTES} bytes")
        blocks: dict[CID, bytes] = {}
        roots: list[CID] = []

        def keep(cid: CID, codec: int, block: bytes) -> None:
            blocks.setdefault(cid, block)

        chunk = self.profile.chunk_size
        for payload in payloads:
            if len(payload) <= chunk:  # one raw leaf, its own root: what build() gives
                root = cidlib.block_cid(cidlib.RAW, payload)[1]
                blocks.setdefault(root, bytes(payload))
                roots.append(root)
            else:
                roots.append(build([payload], profile=self.profile, sink=keep))
        with self._locked(fcntl.LOCK_SH):
            indexed = self.index.known(blocks)
            new = [c for c in blocks if c not in indexed]
            pins = [] if not pin else [r for r in dict.fromkeys(roots)]
            if not new and all(self.index.is_pinned(r) for r in pins):
                return roots  # nothing to write, nothing to pin
            with self._appender() as appender:
                locations = appender.append_group([blocks[c] for c in new]) if new else []
                sizes = appender.finish()
                self.index.commit(blocks=zip(new, locations, strict=True), sizes=sizes, pins=pins)
        return roots

    def get(self, cid: CID) -> Iterator[bytes]:
        """Stream verified content; see :meth:`BlobStoreAPI.get`."""
        return reader.walk(cidlib.normalize(cid), self.read_block)

    def block(self, cid: CID) -> bytes:
        """One raw block, verified against its CID."""
        return reader.verified_block(cidlib.normalize(cid), self.read_block)[1]

    def has(self, cid: CID) -> bool:
        """Whether the root block is indexed."""
        return self.index.locate(cidlib.normalize(cid)) is not None

    def size(self, cid: CID) -> int:
        """Content size from the (verified) root block."""
        return reader.content_size(cidlib.normalize(cid), self.read_block)

    def pin(self, cid: CID) -> None:
        """Pin ``cid``; every block under it must be present (checked by walking the DAG)."""
        cid = cidlib.normalize(cid)
        with self._locked(fcntl.LOCK_SH):
            for _ in reader.walk(cid, self.read_block):
                pass  # a pin on an incomplete or corrupted DAG would be a false promise
            self.index.commit(blocks=(), sizes={}, pins=[cid])

    def unpin(self, cid: CID) -> None:
        """Drop the pin on ``cid``; the blocks stay until :meth:`gc`."""
        if not self.index.unpin(cidlib.normalize(cid)):
            raise BlobNotFound(f"{cid} is not pinned")

    def pins(self) -> set[CID]:
        """Directly pinned roots."""
        return self.index.pins()

    def gc(self) -> int:
        """Drop unreachable blocks, compact packs left mostly dead; see :mod:`.packgc`."""
        with self._locked(fcntl.LOCK_EX):
            return packgc.collect(self)

    def close(self) -> None:
        """Close this thread's index connection and the pack descriptors."""
        self._reader.close()
        self.index.close()

    def forget_pack(self, pack: int) -> None:
        """Release this store's descriptor of a deleted pack (used by :mod:`.packgc`)."""
        self._reader.forget(pack)
