"""The consensus :class:`Checkpoint` on disk: written atomically (tmp, fsync, rename).

Written before any message this validator signed leaves the process, so a restart never
signs something conflicting (see ``ledger/consensus/README.md``, "Restart without a WAL").
"""

from __future__ import annotations

import os
from pathlib import Path

import rlp

from ledger.consensus.evidence import _decode_message, _encode_message
from ledger.consensus.types import Checkpoint, Step
from ledger.exceptions import StorageError
from ledger.typing import Hash32


def _opt(value: bytes) -> Hash32 | None:
    return Hash32(value) if value else None


def encode_checkpoint(cp: Checkpoint) -> bytes:
    return bytes(
        rlp.encode(
            [
                cp.height,
                cp.round,
                int(cp.step),
                cp.locked_value or b"",
                cp.locked_round + 1,
                cp.valid_value or b"",
                cp.valid_round + 1,
                [_encode_message(m) for m in cp.signed],
            ]
        )
    )


def decode_checkpoint(data: bytes) -> Checkpoint:
    try:
        h, r, step, lv, lr, vv, vr, signed = rlp.decode(data, strict=True)
        return Checkpoint(
            height=int.from_bytes(h, "big"),
            round=int.from_bytes(r, "big"),
            step=Step(int.from_bytes(step, "big")),
            locked_value=_opt(lv),
            locked_round=int.from_bytes(lr, "big") - 1,
            valid_value=_opt(vv),
            valid_round=int.from_bytes(vr, "big") - 1,
            signed=tuple(_decode_message(m) for m in signed),
        )
    except Exception as exc:
        raise StorageError(f"consensus checkpoint is corrupt: {exc}") from exc


class CheckpointFile:
    """One file in the node's data directory."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._last: bytes | None = None

    def load(self) -> Checkpoint | None:
        try:
            data = self.path.read_bytes()
        except FileNotFoundError:
            return None
        return decode_checkpoint(data)

    def save(self, cp: Checkpoint) -> None:
        data = encode_checkpoint(cp)
        if data == self._last:
            return
        tmp = self.path.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            os.write(fd, data)
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, self.path)
        self._last = data
