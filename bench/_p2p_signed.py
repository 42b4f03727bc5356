"""The v1 framing (before issue 14) as the benchmark's reference: clear, signed frames.

``body = rlp([kind, seq, payload]) || secp256k1 signature`` over ``keccak(tag || session ||
rlp)``, recovered and sequence-checked by the receiver. Kept here verbatim (from
``ledger/p2p/framing.py`` before the AEAD framing replaced it) so that ``bench p2p``
measures both in one run on the same machine; nothing in the product imports it.
"""

from __future__ import annotations

import rlp
from eth_hash.auto import keccak

from ledger.p2p.exceptions import FrameError
from ledger.p2p.framing import Kind, pack_raw
from ledger.p2p.keys import NodeKey, recover
from ledger.typing import Address

FRAME_TAG = b"medledger/p2p-frame/v1"


class SignedSession:
    """The signing and checking state of one v1 link (one direction each)."""

    def __init__(self, *, key: NodeKey, peer: Address, session_id: bytes) -> None:
        self.key = key
        self.peer = peer
        self.session_id = session_id
        self._send_seq = 0
        self._recv_seq = 0

    def _digest(self, content: bytes) -> bytes:
        return bytes(keccak(FRAME_TAG + self.session_id + content))

    def seal(self, kind: Kind, payload: bytes) -> bytes:
        self._send_seq += 1
        content = rlp.encode([int(kind), self._send_seq, payload])
        return pack_raw(content + self.key.sign(self._digest(content)))

    def open(self, body: bytes) -> tuple[Kind, bytes]:
        if len(body) < 66:
            raise FrameError("frame too short")
        content, signature = body[:-65], body[-65:]
        if recover(self._digest(content), signature) != self.peer:
            raise FrameError("frame not signed by the authenticated peer")
        try:
            item = rlp.decode(content, strict=True)
        except Exception as exc:  # pyrlp raises several unrelated types
            raise FrameError("frame is not well-formed RLP") from exc
        if (
            not isinstance(item, list)
            or len(item) != 3
            or not all(isinstance(x, bytes) for x in item)
        ):
            raise FrameError("frame is not [kind, seq, payload]")
        kind_raw, seq_raw, payload = item
        seq = int.from_bytes(seq_raw, "big")
        if seq != self._recv_seq + 1:
            raise FrameError(f"frame sequence {seq} after {self._recv_seq}: replayed or reordered")
        self._recv_seq = seq
        return Kind(int.from_bytes(kind_raw, "big")), payload
