"""The embedded on-disk blob store against the shared suite, plus its disk-specific duties."""

from __future__ import annotations

from pathlib import Path

import pytest

from node.abc import BlobStoreAPI
from node.blobstore.embedded import EmbeddedBlobStore
from node.typing import CID
from tests.node.blob_suite import BlobStoreSuite


class TestEmbeddedBlobStore(BlobStoreSuite):
    @pytest.fixture
    def store(self, tmp_path: Path) -> EmbeddedBlobStore:
        return EmbeddedBlobStore(tmp_path / "store")

    def corrupt_block(self, store: BlobStoreAPI, cid: CID) -> None:
        assert isinstance(store, EmbeddedBlobStore)
        path = store.root / "blocks" / cid[-3:-1] / cid
        raw = bytearray(path.read_bytes())
        raw[len(raw) // 2] ^= 0x01
        path.write_bytes(bytes(raw))


def test_store_reopened_from_disk_still_serves_and_pins(tmp_path: Path) -> None:
    cid = EmbeddedBlobStore(tmp_path).put([b"persisted"])
    again = EmbeddedBlobStore(tmp_path)
    assert cid in again.pins()
    assert b"".join(again.get(cid)) == b"persisted"


def test_truncated_block_is_refused(tmp_path: Path) -> None:
    store = EmbeddedBlobStore(tmp_path)
    cid = store.put([b"x" * 1000])
    path = tmp_path / "blocks" / cid[-3:-1] / cid
    path.write_bytes(path.read_bytes()[:500])
    with pytest.raises(Exception, match="does not match its hash"):
        b"".join(store.get(cid))
