"""A file-backed stand-in for the chain, implementing :class:`node.anchor.abc.AnchorSinkAPI`.

It stands in for the real chain (py-evm + the ``Anchors`` contract via web3.py), which is not
under test here: what is under test is the outbox's crash safety. Deliberately, this fake
does **not** refuse a root that is already anchored (the real contract will): every
submission lands as its own "block", so a test reading the file sees any double anchoring the
outbox would cause. Each submission is one ``write`` of one line followed by ``fsync``; a torn
last line (impossible in practice for such short writes, but cheap to handle) counts as a
transaction that never landed.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import signal
from pathlib import Path

from node.anchor.abc import AnchorSinkAPI
from node.anchor.entry import OutboxBatch
from node.proof.record import AnchorInfo
from node.typing import MerkleHash, TxHash


def read_chain(path: Path) -> list[dict[str, object]]:
    """Every complete line (block) of the chain file, in order."""
    if not path.exists():
        return []
    blocks = []
    for line in path.read_bytes().split(b"\n"):
        try:
            blocks.append(json.loads(line))
        except ValueError:
            continue  # torn last line or the empty string after the final newline
    return blocks


class FileChain(AnchorSinkAPI):
    """One JSON line per anchored batch; block number = line number (from 1).

    Parameters
    ----------
    path
        The chain file.
    die_after_submit
        Probability of SIGKILL-ing the current process right after a submission landed and
        before ``submit`` returns: the window where the chain has the root and the outbox
        does not know it yet.
    rng
        Source of randomness for ``die_after_submit``.
    """

    def __init__(self, path: Path, *, die_after_submit: float = 0.0, rng: random.Random) -> None:
        self._path = path
        self._die = die_after_submit
        self._rng = rng

    def submit(self, batch: OutboxBatch) -> TxHash:
        height = len(read_chain(self._path)) + 1
        tx = TxHash(hashlib.sha256(batch.root + height.to_bytes(8, "big")).digest())
        line = json.dumps({"root": batch.root.hex(), "size": batch.size, "tx": tx.hex()})
        fd = os.open(self._path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            os.write(fd, line.encode() + b"\n")
            os.fsync(fd)
        finally:
            os.close(fd)
        if self._rng.random() < self._die:
            os.kill(os.getpid(), signal.SIGKILL)
        return tx

    def lookup(self, root: MerkleHash) -> AnchorInfo | None:
        for height, block in enumerate(read_chain(self._path), start=1):
            if block["root"] == root.hex():
                return AnchorInfo(TxHash(bytes.fromhex(str(block["tx"]))), height)
        return None
