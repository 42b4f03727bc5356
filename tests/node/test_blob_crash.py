"""A writer killed mid-put leaves no half-written block visible, and gc cleans up after it."""

from __future__ import annotations

import hashlib
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from node.blobstore import cid as cidlib
from node.blobstore.embedded import EmbeddedBlobStore

ROOT = Path(__file__).resolve().parents[2]

# The child streams fresh pseudo-random data into a put forever (bounded at 4 GiB) in small
# pieces, so at any instant it is likely to be inside a block write or a batch commit; it
# says "ready" once its first batch is surely renamed into place: a batch's commit is awaited
# before the next batch is handed over, which happens when the second batch is full (plus
# the leaves the hasher holds ahead).
CHILD = """
import sys, os
from node.blobstore.embedded import EmbeddedBlobStore
from node.blobstore.groupcommit import BATCH_BYTES
PIECE = 65536
READY = (2 * BATCH_BYTES + 4 * (1 << 20)) // PIECE
def source():
    for i in range(4096 * 16):
        if i == READY:
            print("ready", flush=True)
        yield os.urandom(PIECE)
EmbeddedBlobStore(sys.argv[1]).put(source())
"""


def assert_every_visible_block_is_whole(root: Path) -> int:
    count = 0
    for block in (root / "blocks").rglob("*"):
        if block.is_file():
            _, digest = cidlib.parse(block.name)
            assert hashlib.sha256(block.read_bytes()).digest() == digest, block.name
            count += 1
    return count


@pytest.mark.integration
@pytest.mark.parametrize("delay", [0.05, 0.3, 0.8])
def test_killed_writer_leaves_only_whole_blocks_and_no_pin(tmp_path: Path, delay: float) -> None:
    store_dir = tmp_path / "store"
    keep = EmbeddedBlobStore(store_dir).put([b"an older, pinned blob"])
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(store_dir)], cwd=ROOT, stdout=subprocess.PIPE
    )
    assert child.stdout is not None
    assert child.stdout.readline().strip() == b"ready"
    time.sleep(delay)
    child.send_signal(signal.SIGKILL)
    child.wait(timeout=10)
    assert child.returncode == -signal.SIGKILL

    visible = assert_every_visible_block_is_whole(store_dir)
    assert visible >= 2  # the older blob and some of the killed put's leaves
    store = EmbeddedBlobStore(store_dir)
    assert store.pins() == {keep}  # the interrupted put never got a pin
    store.gc()
    assert assert_every_visible_block_is_whole(store_dir) == 1
    assert list((store_dir / "tmp").iterdir()) == []
    assert b"".join(store.get(keep)) == b"an older, pinned blob"


def test_a_failed_rename_leaves_no_block_under_its_final_name(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Simulates a crash between write and rename (the OS call is made to fail)."""
    store = EmbeddedBlobStore(tmp_path)

    def crash(src: object, dst: object) -> None:
        raise OSError("simulated crash before rename")

    monkeypatch.setattr("node.blobstore.embedded.os.replace", crash)
    with pytest.raises(OSError, match="simulated"):
        store.put([b"never made visible"])
    monkeypatch.undo()
    assert assert_every_visible_block_is_whole(tmp_path) == 0
    assert len(list((tmp_path / "tmp").iterdir())) == 1
    store.gc()
    assert list((tmp_path / "tmp").iterdir()) == []
