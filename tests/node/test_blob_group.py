"""Group commit of small blobs (``EmbeddedBlobStore.put_many``) on the real on-disk store."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from node.blobstore import small_blobs as group
from node.blobstore.embedded import EmbeddedBlobStore
from node.blobstore.profile import CIDV1_256K
from node.exceptions import BlobStoreError

PAYLOADS = [os.urandom(n) for n in (0, 1, 400, 5000, 300 * 1024)]  # the last one spans blocks


def test_put_many_gives_the_cids_of_put_and_pins_every_root(tmp_path: Path) -> None:
    single = EmbeddedBlobStore(tmp_path / "single", profile=CIDV1_256K)
    grouped = EmbeddedBlobStore(tmp_path / "grouped", profile=CIDV1_256K)
    expected = [single.put([p]) for p in PAYLOADS]
    cids = grouped.put_many([*PAYLOADS, PAYLOADS[2]])  # a repeat in the group is fine
    assert cids == [*expected, expected[2]]
    assert grouped.pins() == set(expected)
    for cid, payload in zip(cids, PAYLOADS, strict=False):
        assert b"".join(grouped.get(cid)) == payload
    assert list((grouped.root / "tmp").iterdir()) == []  # everything was renamed into place
    assert grouped.gc() == 0  # every block is reachable from a pin


def test_put_many_without_syncfs_falls_back_to_fsync_per_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    synced: list[Path] = []
    real = group._fsync_path

    def spy(path: Path) -> None:
        synced.append(path)
        real(path)

    monkeypatch.setattr(group, "_SYNCFS", None)
    monkeypatch.setattr(group, "_fsync_path", spy)
    store = EmbeddedBlobStore(tmp_path)
    cids = store.put_many([b"alpha", b"beta"])
    assert [b"".join(store.get(c)) for c in cids] == [b"alpha", b"beta"]
    staged = [p for p in synced if p.parent.name == "tmp"]
    assert len(staged) == 2  # each block's bytes before its rename
    assert tmp_path / "pins" in synced and tmp_path / "blocks" in synced


def test_put_many_again_writes_nothing_new(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store = EmbeddedBlobStore(tmp_path)
    first = store.put_many([b"one", b"two"])
    calls: list[object] = []
    monkeypatch.setattr(group, "barrier", lambda *a: calls.append(a))
    assert store.put_many([b"one", b"two"]) == first
    assert calls == []  # nothing staged, no pin created: no barrier needed


def test_an_oversized_group_is_refused_before_anything_is_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(group, "MAX_GROUP_BYTES", 10)
    store = EmbeddedBlobStore(tmp_path)
    with pytest.raises(BlobStoreError, match="at most 10 bytes"):
        store.put_many([b"123456", b"123456"])
    assert store.pins() == set() and list((tmp_path / "blocks").iterdir()) == []
