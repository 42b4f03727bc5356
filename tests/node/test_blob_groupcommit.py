"""The embedded store's batched write protocol: what makes a put durable and crash-safe.

Power loss cannot be simulated here, so these tests check the order of the system calls that
the crash-safety argument rests on (recorded by wrapping the real ``os.fsync``/``os.replace``,
which still run): a block's file is fsynced before it gets its final name, and the directory
holding that name is fsynced before the put returns and before the root is pinned. Crashes
of a real process mid-put are in ``test_blob_crash.py``.
"""

from __future__ import annotations

import errno
import fcntl
import hashlib
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from node.blobstore import direct
from node.blobstore.embedded import EmbeddedBlobStore
from node.blobstore.groupcommit import GroupCommitWriter
from node.blobstore.hashahead import MIN_THREADED, HashAhead
from node.blobstore.layout import build
from node.blobstore.profile import DEFAULT_PROFILE
from tests.node.pattern import pattern

CHUNK = DEFAULT_PROFILE.chunk_size

Event = tuple[str, str]


@pytest.fixture
def events(monkeypatch: pytest.MonkeyPatch) -> list[Event]:
    """Every fsync (by the path its descriptor points to) and rename, in order."""
    seen: list[Event] = []
    real_fsync, real_replace = os.fsync, os.replace

    def fsync(fd: int) -> None:
        seen.append(("fsync", os.readlink(f"/proc/self/fd/{fd}")))
        real_fsync(fd)

    def replace(src: str | os.PathLike[str], dst: str | os.PathLike[str]) -> None:
        real_replace(src, dst)
        seen.append(("rename", f"{os.fspath(src)}>{os.fspath(dst)}"))

    monkeypatch.setattr(os, "fsync", fsync)
    monkeypatch.setattr(os, "replace", replace)
    return seen


def assert_fsynced_before_named_and_directory_after(seen: list[Event], until: int) -> int:
    """Check the protocol for every rename in ``seen[:until]``; return how many there were."""
    renames = 0
    for i, (kind, what) in enumerate(seen[:until]):
        if kind != "rename":
            continue
        renames += 1
        src, dst = what.split(">")
        assert ("fsync", src) in seen[:i], f"{dst} named before its bytes were fsynced"
        parent = str(Path(dst).parent)
        assert ("fsync", parent) in seen[i + 1 : until], f"{dst}'s directory never fsynced"
    return renames


@pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="needs /proc to name fds")
def test_a_put_fsyncs_each_block_before_naming_it_and_its_directory_before_pinning(
    tmp_path: Path, events: list[Event]
) -> None:
    store = EmbeddedBlobStore(tmp_path)
    payload = list(pattern(3 * CHUNK + 5, 65536))  # 3 aligned leaves (direct), 1 odd, 1 node
    cid = store.put(payload)
    pin = next(i for i, (_, what) in enumerate(events) if what.endswith(f"/pins/{cid}"))
    assert assert_fsynced_before_named_and_directory_after(events, pin) == 5
    assert ("fsync", str(tmp_path / "blocks")) in events[:pin]  # the new shards' names
    assert b"".join(store.get(cid)) == b"".join(payload)


@pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="needs /proc to name fds")
def test_batches_commit_in_turn_and_every_file_lands_whole(
    tmp_path: Path, events: list[Event]
) -> None:
    (tmp_path / "tmp").mkdir()
    (tmp_path / "out").mkdir()
    blocks = {f"b{i}": os.urandom(4096 * (i % 3) + 100 * (i % 2)) for i in range(11)}
    with GroupCommitWriter(tmp_path / "tmp", batch_bytes=8192, max_batch_files=3) as writer:
        for name, data in blocks.items():
            writer.add(tmp_path / "out" / name, data)
    assert {p.name: p.read_bytes() for p in (tmp_path / "out").iterdir()} == blocks
    assert list((tmp_path / "tmp").iterdir()) == []
    assert assert_fsynced_before_named_and_directory_after(events, len(events)) == 11
    directory_syncs = [e for e in events if e == ("fsync", str(tmp_path / "out"))]
    assert len(directory_syncs) >= 4  # one per batch: 11 files, at most 3 per batch


def _open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


@pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="needs /proc to count fds")
def test_a_failed_block_write_fails_the_put_names_nothing_of_its_batch_and_leaks_no_fd(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = EmbeddedBlobStore(tmp_path)
    before = _open_fds()
    real_write = direct.DirectWriter.write
    calls = iter(range(1000))

    def disk_full_on_the_second(self: direct.DirectWriter, fd: int, data: bytes) -> None:
        if next(calls) == 1:
            raise OSError(errno.ENOSPC, "simulated full disk")
        real_write(self, fd, data)

    monkeypatch.setattr(direct.DirectWriter, "write", disk_full_on_the_second)
    with pytest.raises(OSError, match="simulated full disk"):
        store.put(list(pattern(3 * CHUNK, 65536)))
    assert _open_fds() == before
    assert [p for p in (tmp_path / "blocks").rglob("*") if p.is_file()] == []
    assert store.pins() == set()
    store.gc()
    assert list((tmp_path / "tmp").iterdir()) == []


def test_a_filesystem_refusing_o_direct_gets_buffered_writes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """tmpfs refuses O_DIRECT with EINVAL; the refusal is simulated on the real disk here."""
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
        assert 1 <= len(refused) <= 2  # tried at most once per writer thread, then buffered
    assert cid == build(payload, profile=DEFAULT_PROFILE)
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


def test_a_device_refusing_a_direct_write_gets_the_block_rewritten_buffered(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Devices with alignment needs above 4096 refuse the write itself (simulated)."""
    real_write = os.write
    refused: list[int] = []

    def refuse_direct(fd: int, data: object) -> int:
        if getattr(os, "O_DIRECT", 0) & fcntl.fcntl(fd, fcntl.F_GETFL):
            refused.append(fd)
            raise OSError(errno.EINVAL, "misaligned for this device")
        return real_write(fd, data)  # type: ignore[arg-type]

    monkeypatch.setattr(os, "write", refuse_direct)
    payload = list(pattern(2 * CHUNK + 1, 65536))
    store = EmbeddedBlobStore(tmp_path)
    cid = store.put(payload)
    monkeypatch.undo()
    if getattr(os, "O_DIRECT", 0):
        assert 1 <= len(refused) <= 2
    assert b"".join(store.get(cid)) == b"".join(payload)
    assert list((tmp_path / "tmp").iterdir()) == []
