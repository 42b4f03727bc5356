"""The embedded on-disk blob store against the shared suite, plus its disk-specific duties."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from node.blobstore.abc import BlobStoreAPI
from node.blobstore.embedded import EmbeddedBlobStore
from node.blobstore.packfile import pack_path
from node.exceptions import CorruptedBlock
from node.typing import CID
from tests.node.blob_suite import BlobStoreSuite
from tests.node.pack_damage import flip_byte


class TestEmbeddedBlobStore(BlobStoreSuite):
    @pytest.fixture
    def store(self, tmp_path: Path) -> EmbeddedBlobStore:
        return EmbeddedBlobStore(tmp_path / "store")

    def corrupt_block(self, store: BlobStoreAPI, cid: CID) -> None:
        assert isinstance(store, EmbeddedBlobStore)
        flip_byte(store, cid)


def test_store_reopened_from_disk_still_serves_and_pins(tmp_path: Path) -> None:
    cid = EmbeddedBlobStore(tmp_path).put([b"persisted"])
    again = EmbeddedBlobStore(tmp_path)
    assert cid in again.pins()
    assert b"".join(again.get(cid)) == b"persisted"


def test_a_block_cut_short_by_a_truncated_pack_is_refused(tmp_path: Path) -> None:
    store = EmbeddedBlobStore(tmp_path)
    cid = store.put([b"x" * 1000])
    where = store.index.locate(cid)
    assert where is not None
    os.truncate(pack_path(store.packs_dir, where.pack), where.offset + 500)
    with pytest.raises(CorruptedBlock, match="does not match its hash"):
        b"".join(store.get(cid))
