"""Crashes of a writer: nothing unnamed becomes visible, torn tails are cut off on reopen."""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from node.blobstore import cid as cidlib
from node.blobstore.embedded import EmbeddedBlobStore
from node.blobstore.packfile import pack_path
from node.blobstore.packindex import PackIndex

ROOT = Path(__file__).resolve().parents[2]

# The child streams fresh pseudo-random data into one put (bounded at 4 GiB) in small
# pieces; its blocks are appended to a pack as they are made, but the index names them only
# when the put ends, so a kill at any instant falls between append and index commit. It
# says "ready" once several MiB were handed to the store (so the pack surely has a tail).
CHILD = """
import sys, os
from node.blobstore.embedded import EmbeddedBlobStore
PIECE = 65536
def source():
    for i in range(4096 * 16):
        if i == 160:
            print("ready", flush=True)
        yield os.urandom(PIECE)
EmbeddedBlobStore(sys.argv[1]).put(source())
"""


def pack_sizes(store: EmbeddedBlobStore) -> dict[int, int]:
    return {pack: pack_path(store.packs_dir, pack).stat().st_size for pack in store.index.packs()}


def assert_every_indexed_block_is_whole(store: EmbeddedBlobStore) -> int:
    cids = store.index.all_cids()
    for cid in cids:
        _, digest = cidlib.parse(cid)
        assert hashlib.sha256(store.read_block(cid)).digest() == digest, cid
    return len(cids)


@pytest.mark.integration
@pytest.mark.parametrize("delay", [0.05, 0.4])
def test_a_writer_killed_between_append_and_index_commit_leaves_a_tail_cut_on_reopen(
    tmp_path: Path, delay: float
) -> None:
    """A real ``kill -9`` of a process in the middle of a put."""
    store_dir = tmp_path / "store"
    keep = EmbeddedBlobStore(store_dir).put([b"an older, pinned blob"])
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(store_dir)], cwd=ROOT, stdout=subprocess.PIPE
    )
    assert child.stdout is not None
    assert child.stdout.readline().strip() == b"ready"
    time.sleep(delay)
    child.send_signal(signal.SIGKILL)
    child.wait(timeout=10)
    assert child.returncode == -signal.SIGKILL
    packs = sorted(store_dir.glob("packs/*.pack"))
    assert sum(p.stat().st_size for p in packs) > 4 << 20  # the killed put's appended bytes

    store = EmbeddedBlobStore(store_dir)  # reopening cuts the torn tail
    assert pack_sizes(store) == store.index.packs()
    assert store.pins() == {keep}  # the interrupted put never got a pin
    assert assert_every_indexed_block_is_whole(store) == 1  # nor any index entry
    assert b"".join(store.get(keep)) == b"an older, pinned blob"
    again = store.put([b"written after the crash"])
    assert b"".join(EmbeddedBlobStore(store_dir).get(again)) == b"written after the crash"


def test_a_put_failing_at_its_index_commit_names_nothing_and_its_tail_is_cut(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """In-process stand-in for a crash after the append, before the index transaction."""
    store = EmbeddedBlobStore(tmp_path)
    keep = store.put([b"kept"])
    committed = store.index.packs()

    def crash(self: PackIndex, **kwargs: object) -> None:
        raise OSError("simulated crash before the index commit")

    monkeypatch.setattr(PackIndex, "commit", crash)
    with pytest.raises(OSError, match="simulated"):
        store.put([os.urandom(3 << 20)])
    monkeypatch.undo()
    assert sum(pack_sizes(store).values()) > 3 << 20  # appended and fsynced, but unnamed
    assert store.index.packs() == committed
    reopened = EmbeddedBlobStore(tmp_path)
    assert pack_sizes(reopened) == committed
    assert reopened.pins() == {keep} and assert_every_indexed_block_is_whole(reopened) == 1


def test_a_torn_append_past_the_last_indexed_byte_is_cut_off_on_reopen(tmp_path: Path) -> None:
    store = EmbeddedBlobStore(tmp_path)
    cids = store.put_many([b"first record", b"second record"])
    (pack, committed), *_ = store.index.packs().items()
    with open(pack_path(store.packs_dir, pack), "ab") as torn:
        torn.write(b"half of a block that was being appended when the power failed")
    reopened = EmbeddedBlobStore(tmp_path)
    assert pack_path(reopened.packs_dir, pack).stat().st_size == committed
    assert [b"".join(reopened.get(c)) for c in cids] == [b"first record", b"second record"]
    third = reopened.put([b"third record"])
    where = reopened.index.locate(third)
    assert where is not None and where.offset == committed  # appended where the tail was


def test_a_pack_held_by_a_live_writer_is_not_cut_by_another_opener(tmp_path: Path) -> None:
    store = EmbeddedBlobStore(tmp_path)
    store.put([b"x"])
    (pack, committed), *_ = store.index.packs().items()
    path = pack_path(store.packs_dir, pack)
    with open(path, "ab") as writer:
        import fcntl

        fcntl.flock(writer, fcntl.LOCK_EX)  # what an appender in another process holds
        writer.write(b"an append in flight")
        writer.flush()
        EmbeddedBlobStore(tmp_path)
        assert path.stat().st_size == committed + len(b"an append in flight")
