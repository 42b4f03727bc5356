"""The blocks of this validator's signed proposals, kept on disk with its checkpoint.

A restarted proposer re-sends its signed proposal (the checkpoint holds it); without the
block it names, nobody could judge it and the round would be lost. One file per block,
``<height>-<hash>.rlp``, written atomically; files of committed heights are removed.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from eth.abc import BlockAPI

from ledger.consensus import Checkpoint, Proposal
from ledger.p2p import codec
from ledger.p2p.exceptions import FrameError
from ledger.typing import Hash32


class ProposedBlocks:
    """The ``proposed-blocks`` directory of a validator's data dir."""

    def __init__(self, directory: Path) -> None:
        self._dir = directory

    def save(self, checkpoint: Checkpoint, blocks: Mapping[Hash32, BlockAPI]) -> None:
        """Write the block of every proposal in ``checkpoint`` not on disk yet."""
        for message in checkpoint.signed:
            if not isinstance(message, Proposal) or message.value not in blocks:
                continue
            path = self._dir / f"{message.height}-{message.value.hex()}.rlp"
            if not path.exists():
                self._dir.mkdir(exist_ok=True)
                tmp = path.with_suffix(".tmp")
                tmp.write_bytes(codec.encode_block(blocks[message.value]))
                os.replace(tmp, path)

    def forget(self, head: int) -> None:
        """Remove the blocks of heights up to ``head`` (committed: no longer re-sent)."""
        for path in self._files():
            if _height(path) <= head:
                path.unlink(missing_ok=True)

    def load(self, height: int) -> list[BlockAPI]:
        """The saved blocks of ``height`` (older ones are removed; unreadable ones too)."""
        self.forget(height - 1)
        blocks = []
        for path in self._files():
            if _height(path) == height:
                try:
                    blocks.append(codec.decode_block(path.read_bytes()))
                except FrameError:
                    path.unlink(missing_ok=True)
        return blocks

    def _files(self) -> list[Path]:
        return list(self._dir.glob("*.rlp")) if self._dir.is_dir() else []


def _height(path: Path) -> int:
    return int(path.name.split("-", 1)[0])
