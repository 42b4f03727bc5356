"""The Kubo RPC backend against the shared suite, served by a real js-ipfs daemon.

What runs: js-ipfs 0.66.1 (npm ``ipfs``, the JavaScript IPFS daemon, deprecated, with its HTTP
RPC server implementing Kubo's ``/api/v0``), started offline on 127.0.0.1 with a temp repo.
No Kubo binary can be installed on this machine, so Kubo itself is not exercised here; the
client passes every profile parameter explicitly and checks each CID the daemon returns
against ours, so a daemon that lays files out differently fails loudly, never silently.

Difference from Kubo: js-ipfs ignores ``max-file-links`` (it has no setting for links per
node) and always uses 174, the older layout's width. So for the default ``unixfs-v1-2025``
profile (1024 links) its CIDs equal Kubo's only up to 174 chunks (174 MiB): the suite stays
below that, the ``cidv1-256k`` profile (width 174) is checked past two levels of parents,
and 175 chunks at width 1024 is shown to be caught as a CID mismatch.

One daemon serves the whole module; each test starts from an empty store by unpinning
everything and collecting garbage through the API itself.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from node.blobstore.abc import BlobStoreAPI
from node.blobstore.kubo import KuboBlobStore
from node.blobstore.layout import build
from node.blobstore.profile import CIDV1_256K, Profile
from node.exceptions import CIDMismatch, DaemonUnreachable
from node.typing import CID, ProfileName
from tests.node.blob_suite import BlobStoreSuite, data, read
from tests.node.jsipfs import JsIpfsDaemon

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def daemon(tmp_path_factory: pytest.TempPathFactory) -> Iterator[JsIpfsDaemon]:
    running = JsIpfsDaemon(tmp_path_factory.mktemp("jsipfs") / "repo")
    running.start()
    yield running
    running.stop()


def _empty(store: KuboBlobStore) -> None:
    for cid in store.pins():
        store.unpin(cid)
    store.gc()


class TestKuboBlobStore(BlobStoreSuite):
    @pytest.fixture
    def store(self, daemon: JsIpfsDaemon) -> Iterator[KuboBlobStore]:
        store = KuboBlobStore(daemon.api_url, lookup_timeout=0.5)
        _empty(store)
        yield store
        store.close()

    def corrupt_block(self, store: BlobStoreAPI, cid: CID) -> None:
        assert isinstance(store, KuboBlobStore)
        path = self._daemon.block_path(cid)
        raw = bytearray(path.read_bytes())
        raw[len(raw) // 2] ^= 0x01
        path.write_bytes(bytes(raw))

    @pytest.fixture(autouse=True)
    def _remember_daemon(self, daemon: JsIpfsDaemon) -> None:
        self._daemon = daemon


def test_older_profile_cids_match_across_two_levels_of_parents(daemon: JsIpfsDaemon) -> None:
    store = KuboBlobStore(daemon.api_url, profile=CIDV1_256K)
    size = 175 * CIDV1_256K.chunk_size + 3  # 175 leaves: two levels of parents at width 174
    cid = store.put(data(size, 1 << 20))
    assert cid == build(data(size, 1 << 20), profile=CIDV1_256K)
    assert read(store, cid) == b"".join(data(size, 1 << 20))
    assert b"".join(store.cat(cid)) == b"".join(data(size, 1 << 20))
    store.close()


def test_js_ipfs_ignores_the_1024_link_width_and_the_mismatch_is_caught(
    daemon: JsIpfsDaemon,
) -> None:
    """The exact js-ipfs/Kubo difference: nodes of at most 174 links whatever is asked.

    175 chunks with 1024 links per node (``unixfs-v1-2025``'s width) is one parent for Kubo
    and for us, two levels for js-ipfs; the client refuses the daemon's CID.
    """
    wide = Profile(ProfileName("wide-256k"), CIDV1_256K.chunk_size, 1024)
    store = KuboBlobStore(daemon.api_url, profile=wide)
    size = 175 * wide.chunk_size
    js_ipfs_cid = build(data(size, 1 << 20), profile=CIDV1_256K)  # what a 174-wide DAG gives
    with pytest.raises(CIDMismatch, match=f"stored the bytes as {js_ipfs_cid}"):
        store.put(data(size, 1 << 20))
    assert js_ipfs_cid not in store.pins()  # the refused import left no pin behind
    narrow = KuboBlobStore(daemon.api_url, profile=CIDV1_256K)
    assert narrow.put(data(size, 1 << 20)) == js_ipfs_cid
    store.close()
    narrow.close()


def test_unreachable_daemon_is_reported_clearly_after_retries() -> None:
    store = KuboBlobStore("http://127.0.0.1:9", retries=2, timeout=2)
    with pytest.raises(DaemonUnreachable, match=r"127\.0\.0\.1:9.*3 attempts"):
        store.put([b"x"])
    with pytest.raises(DaemonUnreachable):
        store.has(CID("bafkreifjjcie6lypi6ny7amxnfftagclbuxndqonfipmb64f2km2devei4"))
