"""The one test suite every :class:`~node.blobstore.abc.BlobStoreAPI` backend passes.

A backend's test module subclasses :class:`BlobStoreSuite` and provides the ``store`` fixture
(a fresh, empty store using the default profile) and :meth:`BlobStoreSuite.corrupt_block`,
which damages one stored block behind the store's back, as a disk or a hostile daemon would.
Model: py-evm's ``eth/tools/db/base.py`` database API suite.
"""

from __future__ import annotations

import itertools

import pytest

from node.blobstore.abc import BlobStoreAPI
from node.blobstore.layout import build
from node.blobstore.profile import DEFAULT_PROFILE
from node.exceptions import BlobNotFound, CorruptedBlock, InvalidCID
from node.typing import CID
from tests.node.pattern import pattern

HELLO_CID = "bafkreifjjcie6lypi6ny7amxnfftagclbuxndqonfipmb64f2km2devei4"
EMPTY_CID = "bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku"
CHUNK = DEFAULT_PROFILE.chunk_size
#: A valid CID of content no test ever stores.
ABSENT = build([b"never stored by any test"], profile=DEFAULT_PROFILE)


def data(size: int, piece: int = 65536) -> list[bytes]:
    return list(pattern(size, piece))


def read(store: BlobStoreAPI, cid: CID) -> bytes:
    return b"".join(store.get(cid))


class BlobStoreSuite:
    def corrupt_block(self, store: BlobStoreAPI, cid: CID) -> None:
        raise NotImplementedError

    def test_hello_world_gets_kubos_cid_and_reads_back(self, store: BlobStoreAPI) -> None:
        cid = store.put([b"hello world\n"])
        assert cid == HELLO_CID
        assert read(store, cid) == b"hello world\n"

    def test_raw_blocks_are_served_verified_for_peer_replication(self, store: BlobStoreAPI) -> None:
        assert store.block(store.put([b"hello world\n"])) == b"hello world\n"
        big = store.put(iter(data(2 * CHUNK + 5)))
        root = store.block(big)
        assert len(root) < CHUNK  # the dag-pb root: links, not content
        with pytest.raises(BlobNotFound):
            store.block(ABSENT)

    def test_a_corrupted_block_is_not_served(self, store: BlobStoreAPI) -> None:
        cid = store.put([b"served to peers"])
        self.corrupt_block(store, cid)
        with pytest.raises(CorruptedBlock):
            store.block(cid)

    def test_empty_blob_gets_kubos_cid_and_reads_back_empty(self, store: BlobStoreAPI) -> None:
        cid = store.put([])
        assert cid == EMPTY_CID
        assert read(store, cid) == b""
        assert store.size(cid) == 0

    @pytest.mark.parametrize("size", [1, CHUNK - 1, CHUNK, CHUNK + 1, 3 * CHUNK + 17])
    def test_blob_round_trips_around_chunk_boundaries(self, store: BlobStoreAPI, size: int) -> None:
        payload = data(size)
        cid = store.put(iter(payload))
        assert cid == build(payload, profile=DEFAULT_PROFILE)
        assert read(store, cid) == b"".join(payload)
        assert store.size(cid) == size
        assert store.has(cid)

    def test_how_the_source_is_cut_does_not_change_the_cid(self, store: BlobStoreAPI) -> None:
        whole = b"".join(data(CHUNK + 4097))
        odd_pieces = [whole[i : i + 999] for i in range(0, len(whole), 999)]
        assert store.put([whole]) == store.put(odd_pieces)

    def test_get_streams_the_content_in_several_pieces(self, store: BlobStoreAPI) -> None:
        cid = store.put(data(2 * CHUNK + 1))
        pieces = list(itertools.islice(store.get(cid), 10))
        assert len(pieces) >= 2
        assert all(len(p) <= CHUNK for p in pieces)

    def test_unknown_cid_is_not_found(self, store: BlobStoreAPI) -> None:
        assert not store.has(ABSENT)
        with pytest.raises(BlobNotFound):
            read(store, ABSENT)
        with pytest.raises(BlobNotFound):
            store.size(ABSENT)

    @pytest.mark.parametrize(
        "bad", ["", "hello", "QmYwAPJzv5CZsnA625s3Xf2nemtYgPpHdWEz79ojWnPbdG", "b" + "a" * 58]
    )
    def test_malformed_cid_is_refused_clearly(self, store: BlobStoreAPI, bad: str) -> None:
        with pytest.raises(InvalidCID):
            read(store, CID(bad))
        with pytest.raises(InvalidCID):
            store.pin(CID(bad))

    def test_pinned_blob_survives_gc_and_unpinned_blob_is_collected(
        self, store: BlobStoreAPI
    ) -> None:
        kept = store.put(data(CHUNK + 10))
        dropped = store.put(data(CHUNK + 20)[::-1])
        assert {kept, dropped} <= store.pins()
        store.unpin(dropped)
        assert dropped not in store.pins()
        assert store.gc() >= 1
        assert read(store, kept) == b"".join(data(CHUNK + 10))
        assert not store.has(dropped)

    def test_unpinned_put_is_collected_and_pin_protects_it_again(self, store: BlobStoreAPI) -> None:
        loose = store.put([b"loose blob"], pin=False)
        assert loose not in store.pins()
        store.gc()
        assert not store.has(loose)
        again = store.put([b"loose blob"], pin=False)
        store.pin(again)
        store.gc()
        assert read(store, again) == b"loose blob"

    def test_unpin_of_a_blob_that_is_not_pinned_is_an_error(self, store: BlobStoreAPI) -> None:
        with pytest.raises(BlobNotFound):
            store.unpin(ABSENT)

    def test_pin_of_an_absent_blob_is_refused(self, store: BlobStoreAPI) -> None:
        with pytest.raises(BlobNotFound):
            store.pin(ABSENT)

    def test_blocks_shared_with_a_pinned_blob_survive_its_twins_unpin(
        self, store: BlobStoreAPI
    ) -> None:
        first = data(2 * CHUNK)
        a = store.put(first)
        b = store.put([*first, b"tail"])  # shares its first two leaves with ``a``
        store.unpin(a)
        store.gc()
        assert read(store, b) == b"".join(first) + b"tail"

    def test_corrupted_leaf_is_refused_before_its_bytes_are_released(
        self, store: BlobStoreAPI
    ) -> None:
        payload = data(2 * CHUNK + 5)
        cid = store.put(payload)
        leaves: list[CID] = []
        build(payload, profile=DEFAULT_PROFILE, sink=lambda c, codec, b: leaves.append(c))
        self.corrupt_block(store, leaves[1])  # the second leaf
        stream = store.get(cid)
        first = next(stream)
        assert first == b"".join(payload)[:CHUNK]
        with pytest.raises(CorruptedBlock):
            next(stream)

    def test_corrupted_root_is_refused(self, store: BlobStoreAPI) -> None:
        cid = store.put(data(CHUNK + 1))
        self.corrupt_block(store, cid)
        with pytest.raises(CorruptedBlock):
            read(store, cid)
