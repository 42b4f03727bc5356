"""Group commit of small blobs (``EmbeddedBlobStore.put_many``) on the real on-disk store."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from node.blobstore import embedded
from node.blobstore.embedded import EmbeddedBlobStore
from node.blobstore.packindex import PackIndex
from node.blobstore.profile import CIDV1_256K
from node.exceptions import BlobStoreError

# sizes: empty, tiny, small, exactly one 256 KiB chunk, two chunks
PAYLOADS = [os.urandom(n) for n in (0, 1, 400, 5000, 256 * 1024, 300 * 1024)]


def test_put_many_gives_the_cids_of_put_and_pins_every_root(tmp_path: Path) -> None:
    single = EmbeddedBlobStore(tmp_path / "single", profile=CIDV1_256K)
    grouped = EmbeddedBlobStore(tmp_path / "grouped", profile=CIDV1_256K)
    expected = [single.put([p]) for p in PAYLOADS]
    cids = grouped.put_many([*PAYLOADS, PAYLOADS[2]])  # a repeat in the group is fine
    assert cids == [*expected, expected[2]]
    assert grouped.pins() == set(expected)
    for cid, payload in zip(cids, PAYLOADS, strict=False):
        assert b"".join(grouped.get(cid)) == payload
    assert grouped.gc() == 0  # every block is reachable from a pin


def test_put_many_again_writes_nothing_new(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store = EmbeddedBlobStore(tmp_path)
    first = store.put_many([b"one", b"two"])
    calls: list[object] = []
    monkeypatch.setattr(PackIndex, "commit", lambda *a, **k: calls.append(a))
    assert store.put_many([b"one", b"two"]) == first
    assert calls == []  # nothing appended, no pin added: no transaction needed


def test_put_many_of_stored_but_unpinned_blobs_only_pins_them(tmp_path: Path) -> None:
    store = EmbeddedBlobStore(tmp_path)
    cids = store.put_many([b"one", b"two"], pin=False)
    size = sum(p.stat().st_size for p in store.packs_dir.iterdir())
    assert store.put_many([b"one", b"two"]) == cids
    assert store.pins() == set(cids)
    assert sum(p.stat().st_size for p in store.packs_dir.iterdir()) == size


def test_an_oversized_group_is_refused_before_anything_is_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(embedded, "MAX_GROUP_BYTES", 10)
    store = EmbeddedBlobStore(tmp_path)
    with pytest.raises(BlobStoreError, match="at most 10 bytes"):
        store.put_many([b"123456", b"123456"])
    assert store.pins() == set() and store.index.all_cids() == []
