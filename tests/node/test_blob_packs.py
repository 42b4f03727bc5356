"""Pack-store duties beyond the shared suite: compaction, the format marker, concurrency."""

from __future__ import annotations

import multiprocessing
import os
import threading
from pathlib import Path
from typing import Any

import pytest

from node.blobstore import packgc
from node.blobstore.embedded import EmbeddedBlobStore
from node.blobstore.packindex import PackIndex
from node.blobstore.storeformat import FORMAT
from node.exceptions import CorruptedBlock, UnsupportedStoreFormat
from tests.node.pack_damage import flip_byte


def packs_bytes(store: EmbeddedBlobStore) -> int:
    return sum(p.stat().st_size for p in store.packs_dir.glob("*.pack"))


@pytest.fixture
def mostly_dead(tmp_path: Path) -> tuple[EmbeddedBlobStore, list[bytes], list[str]]:
    """A store whose one pack holds two small pinned blobs among 6 MiB of unpinned ones."""
    store = EmbeddedBlobStore(tmp_path)
    kept = [b"pinned record one", os.urandom(1_500_000)]
    cids = [store.put([kept[0]])]
    for _ in range(3):
        store.put([os.urandom(2 << 20)], pin=False)
    cids.append(store.put([kept[1]]))
    return store, kept, cids


def test_gc_compaction_keeps_pinned_data_and_frees_the_space_of_the_rest(
    mostly_dead: tuple[EmbeddedBlobStore, list[bytes], list[str]],
) -> None:
    store, kept, cids = mostly_dead
    (old_pack,) = store.index.packs()
    before = packs_bytes(store)
    assert store.gc() == 9  # 3 unpinned blobs: 2 leaves and a root each
    assert old_pack not in store.index.packs()  # rewritten: live bytes were < half
    assert not any(p.stem == f"{old_pack:08d}" for p in store.packs_dir.iterdir())
    assert packs_bytes(store) < before - (5 << 20)
    assert [b"".join(store.get(c)) for c in cids] == kept
    assert store.pins() == set(cids)


def test_a_store_reopened_after_compaction_serves_pins_and_takes_new_puts(
    mostly_dead: tuple[EmbeddedBlobStore, list[bytes], list[str]],
) -> None:
    store, kept, cids = mostly_dead
    store.gc()
    store.close()
    again = EmbeddedBlobStore(store.root)
    assert [b"".join(again.get(c)) for c in cids] == kept
    new = again.put([b"after compaction"])
    assert b"".join(again.get(new)) == b"after compaction"
    assert again.gc() == 0


def test_a_compaction_interrupted_before_its_index_switch_loses_nothing(
    mostly_dead: tuple[EmbeddedBlobStore, list[bytes], list[str]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """In-process stand-in for a crash after the live blocks were copied, before the switch."""
    store, kept, cids = mostly_dead
    real_commit = PackIndex.commit

    def crash_on_switch(self: PackIndex, **kwargs: object) -> None:
        if kwargs.get("moved"):
            raise OSError("simulated crash before the compaction's index switch")
        real_commit(self, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(PackIndex, "commit", crash_on_switch)
    with pytest.raises(OSError, match="simulated"):
        store.gc()
    monkeypatch.undo()
    reopened = EmbeddedBlobStore(store.root)  # cuts the copies' tail in the new pack
    sizes = reopened.index.packs()
    assert all((reopened.packs_dir / f"{p:08d}.pack").stat().st_size == s for p, s in sizes.items())
    assert [b"".join(reopened.get(c)) for c in cids] == kept
    reopened.gc()  # and the compaction goes through this time
    assert [b"".join(reopened.get(c)) for c in cids] == kept


def test_an_old_pack_left_by_a_crash_after_the_switch_is_deleted_on_open(
    mostly_dead: tuple[EmbeddedBlobStore, list[bytes], list[str]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    store, kept, cids = mostly_dead
    (old_pack,) = store.index.packs()
    old = store.packs_dir / f"{old_pack:08d}.pack"
    saved = old.read_bytes()
    store.gc()
    old.write_bytes(saved)  # as if the process died between the switch and the unlink
    again = EmbeddedBlobStore(store.root)
    assert not old.exists()
    assert [b"".join(again.get(c)) for c in cids] == kept


def test_a_corrupted_block_inside_a_pack_is_refused_and_its_neighbours_still_served(
    tmp_path: Path,
) -> None:
    store = EmbeddedBlobStore(tmp_path)
    a, b, c = store.put_many([b"alpha" * 100, b"bravo" * 100, b"charlie" * 100])
    flip_byte(store, b, at=0)
    with pytest.raises(CorruptedBlock, match="does not match its hash"):
        b"".join(store.get(b))
    assert b"".join(store.get(a)) == b"alpha" * 100
    assert b"".join(store.get(c)) == b"charlie" * 100


def test_the_old_file_per_block_layout_is_refused_by_name(tmp_path: Path) -> None:
    (tmp_path / "blocks" / "ab").mkdir(parents=True)
    (tmp_path / "pins").mkdir()
    with pytest.raises(UnsupportedStoreFormat, match="old file-per-block format"):
        EmbeddedBlobStore(tmp_path)
    assert not (tmp_path / "FORMAT").exists()  # nothing written into it


def test_an_unknown_format_or_a_foreign_directory_is_refused_by_name(tmp_path: Path) -> None:
    (tmp_path / "future").mkdir()
    (tmp_path / "future" / "FORMAT").write_text("medledger-blobstore packs v9\n")
    with pytest.raises(UnsupportedStoreFormat, match="'medledger-blobstore packs v9'"):
        EmbeddedBlobStore(tmp_path / "future")
    (tmp_path / "photos").mkdir()
    (tmp_path / "photos" / "cat.jpg").write_bytes(b"\xff\xd8")
    with pytest.raises(UnsupportedStoreFormat, match="no FORMAT file"):
        EmbeddedBlobStore(tmp_path / "photos")
    EmbeddedBlobStore(tmp_path / "new")
    assert (tmp_path / "new" / "FORMAT").read_text().strip() == FORMAT


def test_concurrent_writers_each_get_their_blobs_back_and_leave_no_torn_tail(
    tmp_path: Path,
) -> None:
    store = EmbeddedBlobStore(tmp_path)
    results: dict[int, list[str]] = {}
    payloads = {i: [os.urandom(300_000 + i) for _ in range(4)] for i in range(3)}
    start = threading.Barrier(3)

    def writer(i: int) -> None:
        start.wait(timeout=10)
        results[i] = [store.put([p]) for p in payloads[i]]

    threads = [threading.Thread(target=writer, args=(i,)) for i in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert sorted(results) == [0, 1, 2]
    for i, cids in results.items():
        assert [b"".join(store.get(c)) for c in cids] == payloads[i]
    assert packgc.cut_torn_tails(store.packs_dir, store.index) == 0  # no tail left behind


def _open_each(root: str, rounds: int, barrier: Any, errors: Any) -> None:
    for i in range(rounds):
        barrier.wait(timeout=30)
        try:
            EmbeddedBlobStore(Path(root) / str(i))
        except Exception as exc:  # reported to the parent, which fails the test
            errors.put(f"round {i}: {type(exc).__name__}: {exc}")


def test_two_processes_creating_one_new_store_at_once_both_open_it(tmp_path: Path) -> None:
    """A hospital's node and gateway open the same new blob store at the same moment.

    Two real processes race to create each of 25 new stores (a barrier per round). Before the
    creation lock, one of them lost its temporary marker to the other's rename, or saw the
    other's first pack file and refused the store as "not empty"; and the index's switch to
    WAL failed at once with "database is locked" (SQLite calls no busy handler for it).
    """
    ctx = multiprocessing.get_context("fork")
    barrier, errors = ctx.Barrier(2), ctx.Queue()
    procs = [ctx.Process(target=_open_each, args=(str(tmp_path), 25, barrier, errors))
             for _ in range(2)]  # fmt: skip
    for p in procs:
        p.start()
    for p in procs:
        p.join(timeout=120)
    assert [p.exitcode for p in procs] == [0, 0]
    found = []
    while not errors.empty():
        found.append(errors.get())
    assert found == []
    assert all((tmp_path / str(i) / "FORMAT").read_text().strip() == FORMAT for i in range(25))
