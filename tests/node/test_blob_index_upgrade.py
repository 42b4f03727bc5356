"""A layout 1 blob index (a ``pins`` table, a ``(pack, cid)`` index) is upgraded on open."""

from __future__ import annotations

import logging
import os
import sqlite3
from pathlib import Path

import pytest

from node.blobstore.embedded import EmbeddedBlobStore
from node.blobstore.packindex import VERSION
from node.exceptions import BlobStoreError


def _downgrade_to_v1(index: Path, *, stray_pin: str | None = None) -> None:
    """Rewrite a layout 2 index the way layout 1 stored the same content."""
    db = sqlite3.connect(index, isolation_level=None)
    db.execute("BEGIN")
    db.execute("CREATE TABLE pins (cid TEXT PRIMARY KEY) WITHOUT ROWID")
    db.execute("INSERT INTO pins SELECT cid FROM blocks WHERE pinned")
    if stray_pin is not None:
        db.execute("INSERT INTO pins VALUES (?)", (stray_pin,))
    db.execute("ALTER TABLE blocks DROP COLUMN pinned")
    db.execute("CREATE INDEX blocks_by_pack ON blocks (pack)")
    db.execute("PRAGMA user_version=0")
    db.execute("COMMIT")
    db.close()


def test_a_layout_1_index_keeps_every_pin_and_block_after_the_upgrade(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    store = EmbeddedBlobStore(tmp_path / "store")
    payloads = [os.urandom(n) for n in (10, 700, 3 * 1024 * 1024)]
    kept = [store.put([p]) for p in payloads]
    loose = store.put([b"not pinned"], pin=False)
    store.close()
    stray = "bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy"
    _downgrade_to_v1(tmp_path / "store" / "index.sqlite", stray_pin=stray)

    with caplog.at_level(logging.WARNING, logger="node.blobstore.packindex"):
        store = EmbeddedBlobStore(tmp_path / "store")
    assert "1 pins named no stored block" in caplog.text
    assert store.pins() == set(kept)
    assert not store.index.is_pinned(loose) and store.has(loose)
    for cid, payload in zip(kept, payloads, strict=True):
        assert b"".join(store.get(cid)) == payload
    db = sqlite3.connect(tmp_path / "store" / "index.sqlite")
    assert db.execute("PRAGMA user_version").fetchone()[0] == VERSION
    names = {r[0] for r in db.execute("SELECT name FROM sqlite_master")}
    assert "pins" not in names and "blocks_by_pack" not in names
    db.close()
    assert store.gc() == 1  # only the unpinned block goes
    store.unpin(kept[0])
    assert store.pins() == set(kept[1:])
    store.close()


def test_an_index_from_a_newer_layout_is_refused(tmp_path: Path) -> None:
    EmbeddedBlobStore(tmp_path / "store").close()
    db = sqlite3.connect(tmp_path / "store" / "index.sqlite", isolation_level=None)
    db.execute(f"PRAGMA user_version={VERSION + 1}")
    db.close()
    with pytest.raises(BlobStoreError, match="newer node"):
        EmbeddedBlobStore(tmp_path / "store")


def test_pinning_a_block_the_index_does_not_hold_is_refused(tmp_path: Path) -> None:
    store = EmbeddedBlobStore(tmp_path / "store")
    with pytest.raises(BlobStoreError, match="no such block"):
        store.index.commit(blocks=(), sizes={}, pins=["bafkreinothere"])  # type: ignore[list-item]
    store.close()
