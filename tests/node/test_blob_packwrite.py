"""The pack store's write protocol: what makes a put durable and crash-safe, and fast paths.

Power loss cannot be simulated here, so the first tests check the order of the calls the
crash-safety argument rests on (recorded by wrapping the real ``os.fsync`` and the index
commit, which still run): every pack a put appended to is fsynced before the index
transaction naming its blocks commits. Crashes of a real process mid-put are in
``test_blob_crash.py``.
"""

from __future__ import annotations

import errno
import fcntl
import hashlib
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from node.blobstore import packfile
from node.blobstore.embedded import EmbeddedBlobStore
from node.blobstore.hashahead import MIN_THREADED, HashAhead
from node.blobstore.layout import build
from node.blobstore.packindex import PackIndex
from node.blobstore.profile import DEFAULT_PROFILE
from tests.node.pattern import pattern

CHUNK = DEFAULT_PROFILE.chunk_size


@pytest.fixture
def events(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, str]]:
    """Every fsync (by the path of its descriptor) and index commit, in order."""
    seen: list[tuple[str, str]] = []
    real_fsync, real_commit = os.fsync, PackIndex.commit

    def fsync(fd: int) -> None:
        seen.append(("fsync", os.readlink(f"/proc/self/fd/{fd}")))
        real_fsync(fd)

    def commit(self: PackIndex, **kwargs: Any) -> None:
        blocks = list(kwargs.pop("blocks"))
        packs = {loc.pack for _, loc in blocks}
        real_commit(self, blocks=blocks, **kwargs)
        seen.append(("commit", ",".join(str(p) for p in sorted(packs))))

    monkeypatch.setattr(os, "fsync", fsync)
    monkeypatch.setattr(PackIndex, "commit", commit)
    return seen


@pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="needs /proc to name fds")
def test_every_pack_a_put_appended_to_is_fsynced_before_the_index_names_its_blocks(
    tmp_path: Path, events: list[tuple[str, str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(packfile, "ROLL_BYTES", 2 * CHUNK + 8192)  # make the put roll packs
    store = EmbeddedBlobStore(tmp_path)
    payload = list(pattern(5 * CHUNK + 3, 65536))
    cid = store.put(payload)
    commits = [i for i, (kind, _) in enumerate(events) if kind == "commit"]
    assert len(commits) == 1
    packs = events[commits[0]][1].split(",")
    assert len(packs) >= 2  # the put did roll over to new packs
    for pack in packs:
        path = str(packfile.pack_path(store.packs_dir, int(pack)))
        assert ("fsync", path) in events[: commits[0]], f"pack {pack} named before fsync"
    assert b"".join(store.get(cid)) == b"".join(payload)


def test_put_many_is_one_append_one_pack_fsync_and_one_index_transaction(
    tmp_path: Path, events: list[tuple[str, str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    store = EmbeddedBlobStore(tmp_path)
    writes: list[int] = []
    real_pwrite = os.pwrite

    def pwrite(fd: int, data: Any, offset: int) -> int:
        writes.append(len(data))
        return real_pwrite(fd, data, offset)

    monkeypatch.setattr(os, "pwrite", pwrite)
    events.clear()
    cids = store.put_many([f"record {i}".encode() * 40 for i in range(200)])
    assert len(writes) == 1
    pack_syncs = [e for e in events if e[0] == "fsync" and e[1].endswith(".pack")]
    assert len(pack_syncs) == 1 and events[-1][0] == "commit"
    assert len([e for e in events if e[0] == "commit"]) == 1
    assert store.pins() == set(cids)


def test_a_filesystem_refusing_o_direct_gets_buffered_writes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """tmpfs refuses O_DIRECT with EINVAL at open; the refusal is simulated on the real disk."""
    real_open = os.open
    refused: list[str] = []

    def no_direct(path: str | os.PathLike[str], flags: int, mode: int = 0o777) -> int:
        if flags & getattr(os, "O_DIRECT", 0):
            refused.append(os.fspath(path))
            raise OSError(errno.EINVAL, "O_DIRECT not supported")
        return real_open(path, flags, mode)

    monkeypatch.setattr(os, "open", no_direct)
    payload = list(pattern(2 * CHUNK + 1, 65536))
    store = EmbeddedBlobStore(tmp_path)
    cid = store.put(payload)
    if getattr(os, "O_DIRECT", 0):
        assert len(refused) == 1  # tried once, then buffered
    assert cid == build(payload, profile=DEFAULT_PROFILE)
    assert b"".join(store.get(cid)) == b"".join(payload)


def test_a_device_refusing_a_direct_write_gets_the_block_rewritten_buffered(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Devices with alignment needs above 4096 refuse the write itself (simulated)."""
    real_pwrite = os.pwrite
    refused: list[int] = []

    def refuse_direct(fd: int, data: Any, offset: int) -> int:
        if fcntl.fcntl(fd, fcntl.F_GETFL) & getattr(os, "O_DIRECT", 0):
            refused.append(fd)
            raise OSError(errno.EINVAL, "misaligned for this device")
        return real_pwrite(fd, data, offset)

    monkeypatch.setattr(os, "pwrite", refuse_direct)
    payload = list(pattern(3 * CHUNK + 1, 65536))
    store = EmbeddedBlobStore(tmp_path)
    cid = store.put(payload)
    monkeypatch.undo()
    if getattr(os, "O_DIRECT", 0):
        assert 1 <= len(refused) <= 4  # at most the writes already in flight, then buffered
    assert b"".join(store.get(cid)) == b"".join(payload)


def test_hashing_ahead_keeps_order_and_digests_for_small_and_large_chunks() -> None:
    chunks = [os.urandom(n) for n in (MIN_THREADED, 10, MIN_THREADED * 2, 0, MIN_THREADED, 1)]
    with HashAhead(depth=2) as hasher:
        got = list(hasher.hashed(chunks))
    assert got == [(c, hashlib.sha256(c).digest()) for c in chunks]


def test_an_error_in_the_source_reaches_the_caller_of_a_hashing_ahead_build() -> None:
    def failing() -> Iterator[bytes]:
        yield from [os.urandom(CHUNK)] * 3
        raise RuntimeError("source broke")

    with pytest.raises(RuntimeError, match="source broke"):
        build(failing(), profile=DEFAULT_PROFILE)
