"""The embedded backend: blocks as files on local disk, named by CID.

Layout under ``root``: ``blocks/<2 chars>/<cid>`` (sharded so no directory grows huge),
``pins/<cid>`` (one empty file per pinned root), ``tmp/`` (blocks being written), ``lock``.

Crash safety: a block is written to ``tmp/``, flushed with ``fsync`` and only then renamed into
``blocks/`` (``rename`` is atomic on POSIX), so a reader never sees a half-written block under
its final name; the touched directories are fsynced before ``put`` returns. ``put`` does this
for a batch of blocks at a time (:mod:`node.blobstore.groupcommit`), so the disk's write-back
overlaps the hashing and encryption and many ``fsync`` calls share one journal commit. A
crash leaves at most unnamed files in ``tmp/`` (deleted by :meth:`EmbeddedBlobStore.gc`) and
whole blocks no pin refers to (collected like any unpinned block). A block file whose bytes
were damaged later is still refused by ``get``, which re-hashes every block.

Concurrency: ``put``/``pin`` hold a shared ``flock`` and ``gc`` an exclusive one, so a
collection can never delete the blocks of a put that has not pinned yet.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import uuid
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path

from node.abc import BlobStoreAPI
from node.blobstore import cid as cidlib
from node.blobstore import reader
from node.blobstore.groupcommit import GroupCommitWriter
from node.blobstore.layout import build
from node.blobstore.profile import DEFAULT_PROFILE, Profile
from node.exceptions import BlobNotFound, BlobStoreError
from node.typing import CID


class EmbeddedBlobStore(BlobStoreAPI):
    """Content-addressed store in a local directory, CIDs identical to Kubo's for ``profile``.

    Parameters
    ----------
    root
        Directory of the store (created if missing).
    profile
        Import profile used by :meth:`put`; reading works for any profile.
    durable
        ``fsync`` each block before it becomes visible (turn off only for throwaway stores).
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
        self._blocks = self.root / "blocks"
        self._pins = self.root / "pins"
        self._tmp = self.root / "tmp"
        for directory in (self._blocks, self._pins, self._tmp):
            directory.mkdir(parents=True, exist_ok=True)
        (self.root / "lock").touch(exist_ok=True)

    # -- locking and files ---------------------------------------------------------------

    @contextlib.contextmanager
    def _locked(self, mode: int) -> Iterator[None]:
        with open(self.root / "lock", "rb") as handle:
            fcntl.flock(handle, mode)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def _block_path(self, cid: CID) -> Path:
        return self._blocks / cid[-3:-1] / cid

    def _write_atomic(self, final: Path, data: bytes) -> None:
        tmp = self._tmp / f"{final.name}.{uuid.uuid4().hex}"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
            if self._durable:
                os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, final)

    def _fsync_dir(self, directory: Path) -> None:
        if self._durable:
            fd = os.open(directory, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)

    def _read_block(self, cid: CID) -> bytes:
        try:
            return self._block_path(cid).read_bytes()
        except FileNotFoundError:
            raise BlobNotFound(f"block {cid} is not in the store") from None

    # -- BlobStoreAPI --------------------------------------------------------------------

    def put(self, source: Iterable[bytes], *, pin: bool = True) -> CID:
        """Import ``source`` with the store's profile; see :meth:`BlobStoreAPI.put`.

        Blocks become durable and visible in batches (:mod:`node.blobstore.groupcommit`);
        when this returns, every block is fsynced under its final name, the directories
        holding those names are fsynced, and then the root is pinned.
        """
        shards: set[Path] = set()
        with (
            self._locked(fcntl.LOCK_SH),
            GroupCommitWriter(self._tmp, durable=self._durable) as writer,
        ):

            def store(cid: CID, codec: int, block: bytes) -> None:
                path = self._block_path(cid)
                if path.exists():
                    # content-addressed: the same name always holds the same bytes; its
                    # directory is fsynced with ours in case a concurrent put just named it
                    writer.sync_dir(path.parent)
                    return
                if path.parent not in shards:
                    with contextlib.suppress(FileExistsError):
                        path.parent.mkdir()
                        writer.sync_dir(self._blocks)  # the new shard's own name
                    shards.add(path.parent)
                writer.add(path, block)

            root = build(source, profile=self.profile, sink=store)
            writer.finish()
            if pin:
                self._pin_locked(root)
        return root

    def get(self, cid: CID) -> Iterator[bytes]:
        """Stream verified content; see :meth:`BlobStoreAPI.get`."""
        return reader.walk(cidlib.normalize(cid), self._read_block)

    def block(self, cid: CID) -> bytes:
        """One raw block, verified against its CID."""
        return reader.verified_block(cidlib.normalize(cid), self._read_block)[1]

    def has(self, cid: CID) -> bool:
        """Whether the root block is present."""
        return self._block_path(cidlib.normalize(cid)).is_file()

    def size(self, cid: CID) -> int:
        """Content size from the (verified) root block."""
        return reader.content_size(cidlib.normalize(cid), self._read_block)

    def pin(self, cid: CID) -> None:
        """Pin ``cid``; every block under it must be present (checked by walking the DAG)."""
        cid = cidlib.normalize(cid)
        with self._locked(fcntl.LOCK_SH):
            for _ in reader.walk(cid, self._read_block):
                pass  # a pin on an incomplete or corrupted DAG would be a false promise
            self._pin_locked(cid)

    def _pin_locked(self, cid: CID) -> None:
        path = self._pins / cid
        if not path.exists():
            self._write_atomic(path, b"")
            self._fsync_dir(self._pins)

    def unpin(self, cid: CID) -> None:
        """Drop the pin on ``cid``; the blocks stay until :meth:`gc`."""
        cid = cidlib.normalize(cid)
        try:
            (self._pins / cid).unlink()
        except FileNotFoundError:
            raise BlobNotFound(f"{cid} is not pinned") from None
        self._fsync_dir(self._pins)

    def pins(self) -> set[CID]:
        """Directly pinned roots."""
        return {CID(p.name) for p in self._pins.iterdir()}

    def gc(self) -> int:
        """Delete unreachable blocks and leftovers of crashed writers."""
        with self._locked(fcntl.LOCK_EX):
            live = self._reachable()
            deleted = 0
            for shard in self._blocks.iterdir():
                for block in shard.iterdir():
                    if block.name not in live:
                        block.unlink()
                        deleted += 1
            for leftover in self._tmp.iterdir():
                leftover.unlink()  # no writer holds the lock, so these are from a crash
        return deleted

    def _reachable(self) -> set[str]:
        live: set[str] = set()
        stack = [str(p) for p in self.pins()]
        while stack:
            cid = CID(stack.pop())
            if cid in live:
                continue
            live.add(cid)
            codec, _ = cidlib.parse(cid)
            if codec != cidlib.DAG_PB:
                continue
            try:
                _, block = reader.verified_block(cid, self._read_block)
                node = reader.decode_node(cid, block)
            except BlobStoreError:
                continue  # a missing/corrupted node: keep what we can still reach
            stack.extend(cidlib.cid_text(link.cid) for link in node.links)
        return live

    def put_many(self, payloads: Sequence[bytes], *, pin: bool = True) -> list[CID]:
        """Group commit of small payloads: one durability barrier (:mod:`.small_blobs`)."""
        from node.blobstore import small_blobs  # it uses this class: imported when needed

        return small_blobs.put_many(self, payloads, pin=pin)
