"""Payloads of the frame kinds (RLP, strict decoding, one ``FrameError`` per failure).

- STATUS: ``[head_number]``
- TRANSACTIONS: ``[raw_tx, ...]``
- CONSENSUS: ``[message, block_rlp or b""]``; a proposal carries its block so that others
  can judge it (the consensus value is only the block hash)
- GET_BLOCKS: ``[first_number, count]``
- BLOCKS: ``[[block_rlp, commit], ...]`` in ascending order
"""

from __future__ import annotations

from typing import Any

import rlp
from eth.abc import BlockAPI

from ledger import seal
from ledger.abc import Commit
from ledger.consensus.evidence import _decode_message, _encode_message
from ledger.consensus.exceptions import ConsensusError
from ledger.consensus.types import Message
from ledger.p2p.exceptions import FrameError
from ledger.vm import MedledgerVM

MAX_SYNC_BATCH = 64


def _decode(payload: bytes) -> Any:
    try:
        return rlp.decode(payload, strict=True)
    except Exception as exc:  # pyrlp raises several unrelated types
        raise FrameError("payload is not well-formed RLP") from exc


def _uint(item: object) -> int:
    if not isinstance(item, bytes) or len(item) > 8 or item[:1] == b"\x00":
        raise FrameError("not a canonical unsigned integer")
    return int.from_bytes(item, "big")


def encode_status(head: int) -> bytes:
    return bytes(rlp.encode([head]))


def decode_status(payload: bytes) -> int:
    item = _decode(payload)
    if not isinstance(item, list) or len(item) != 1:
        raise FrameError("status is [head]")
    return _uint(item[0])


def encode_transactions(raws: list[bytes]) -> bytes:
    return bytes(rlp.encode(raws))


def decode_transactions(payload: bytes) -> list[bytes]:
    item = _decode(payload)
    if not isinstance(item, list) or not all(isinstance(x, bytes) for x in item):
        raise FrameError("transactions is a list of raw transactions")
    return list(item)


def encode_block(block: BlockAPI) -> bytes:
    return bytes(rlp.encode(block))


def decode_block(data: bytes) -> BlockAPI:
    try:
        block: BlockAPI = rlp.decode(data, sedes=MedledgerVM.get_block_class(), strict=True)
    except Exception as exc:  # pyrlp/py-evm raise several unrelated types
        raise FrameError("not a well-formed block") from exc
    return block


def encode_consensus(message: Message, block: bytes = b"") -> bytes:
    return bytes(rlp.encode([_encode_message(message), block]))


def decode_consensus(payload: bytes) -> tuple[Message, bytes]:
    item = _decode(payload)
    if not isinstance(item, list) or len(item) != 2 or not isinstance(item[1], bytes):
        raise FrameError("consensus is [message, block]")
    try:
        return _decode_message(item[0]), item[1]
    except (ConsensusError, ValueError) as exc:
        raise FrameError(f"bad consensus message: {exc}") from exc


def encode_get_blocks(first: int, count: int) -> bytes:
    return bytes(rlp.encode([first, count]))


def decode_get_blocks(payload: bytes) -> tuple[int, int]:
    item = _decode(payload)
    if not isinstance(item, list) or len(item) != 2:
        raise FrameError("get-blocks is [first, count]")
    first, count = _uint(item[0]), _uint(item[1])
    if first < 1 or not 1 <= count <= MAX_SYNC_BATCH:
        raise FrameError("get-blocks out of range")
    return first, count


def encode_blocks(pairs: list[tuple[bytes, bytes]]) -> bytes:
    return bytes(rlp.encode([list(p) for p in pairs]))


def decode_blocks(payload: bytes) -> list[tuple[bytes, bytes]]:
    item = _decode(payload)
    if not isinstance(item, list) or len(item) > MAX_SYNC_BATCH:
        raise FrameError("blocks is a bounded list")
    pairs: list[tuple[bytes, bytes]] = []
    for pair in item:
        if (
            not isinstance(pair, list)
            or len(pair) != 2
            or not all(isinstance(x, bytes) for x in pair)
        ):
            raise FrameError("blocks entries are [block, commit]")
        pairs.append((pair[0], pair[1]))
    return pairs


def encode_commit(commit: Commit) -> bytes:
    return seal.encode_commit(commit)
