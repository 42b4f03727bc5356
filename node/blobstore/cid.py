"""CIDv1 with a sha2-256 multihash, in base32 text: the only CID shape this store issues.

Layout (multiformats specs): ``varint(1) varint(codec) varint(0x12) varint(32) digest``, text
form ``"b" + base32-lower-no-padding(bytes)``. Both leaf (``raw``) and node (``dag-pb``) CIDs
use it, which is what ``ipfs add --cid-version=1 --raw-leaves`` prints.
"""

from __future__ import annotations

import base64
import hashlib
from typing import Final

from node.exceptions import InvalidCID
from node.typing import CID
from node.wire import encode_varuint

RAW: Final = 0x55
DAG_PB: Final = 0x70
SHA2_256: Final = 0x12
_DIGEST_LEN: Final = 32
_CODECS: Final = frozenset({RAW, DAG_PB})
#: Longest CID text we accept (ours are 59 characters); bounds work on hostile input.
_MAX_TEXT: Final = 128


#: Unsigned LEB128, as used by multiformats and protobuf: the same encoder as proofs use.
encode_varint = encode_varuint


def decode_varint(buf: bytes, pos: int) -> tuple[int, int]:
    """Decode an unsigned varint at ``pos``; return ``(value, next_pos)``.

    Raises ``ValueError`` on truncation or on a varint longer than 10 bytes (> 64 bits).
    """
    value = shift = 0
    for i in range(pos, min(pos + 10, len(buf))):
        byte = buf[i]
        value |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return value, i + 1
        shift += 7
    raise ValueError("truncated or overlong varint")


_PREFIX: Final = {codec: bytes([1, codec, SHA2_256, _DIGEST_LEN]) for codec in _CODECS}


def cid_bytes(codec: int, digest: bytes) -> bytes:
    """Binary CIDv1 for a sha2-256 ``digest`` of a block of type ``codec``."""
    return _PREFIX[codec] + digest


def cid_text(binary: bytes) -> CID:
    """Text form (multibase base32, lower case, no padding) of a binary CID."""
    return CID("b" + base64.b32encode(binary).decode("ascii").rstrip("=").lower())


def block_cid(codec: int, block: bytes | memoryview) -> tuple[bytes, CID]:
    """Hash ``block`` and return its binary and text CID."""
    binary = cid_bytes(codec, hashlib.sha256(block).digest())
    return binary, cid_text(binary)


def parse(cid: str) -> tuple[int, bytes]:
    """Parse a text CID into ``(codec, sha256 digest)``.

    Raises
    ------
    InvalidCID
        Not base32 CIDv1, not sha2-256, an unknown codec, or trailing bytes.
    """
    if not isinstance(cid, str) or not 1 < len(cid) <= _MAX_TEXT or cid[0] != "b":
        raise InvalidCID("expected a CIDv1 in base32 (starting with 'b')")
    body = cid[1:]
    try:
        binary = base64.b32decode(body.upper() + "=" * (-len(body) % 8))
    except ValueError as exc:
        raise InvalidCID("CID is not valid base32") from exc
    return parse_binary(binary)


def parse_binary(binary: bytes) -> tuple[int, bytes]:
    """Parse a binary CIDv1 (see :func:`parse`)."""
    try:
        version, pos = decode_varint(binary, 0)
        codec, pos = decode_varint(binary, pos)
        hash_code, pos = decode_varint(binary, pos)
        length, pos = decode_varint(binary, pos)
    except ValueError as exc:
        raise InvalidCID("CID is truncated") from exc
    if version != 1:
        raise InvalidCID(f"unsupported CID version {version}")
    if codec not in _CODECS:
        raise InvalidCID(f"unsupported codec 0x{codec:x} (expected raw or dag-pb)")
    if hash_code != SHA2_256 or length != _DIGEST_LEN:
        raise InvalidCID("unsupported multihash (expected sha2-256, 32 bytes)")
    digest = binary[pos:]
    if len(digest) != _DIGEST_LEN:
        raise InvalidCID("CID digest has the wrong length")
    return codec, digest


def normalize(cid: str) -> CID:
    """Validate ``cid`` and return its canonical text form (lower-case base32)."""
    codec, digest = parse(cid)
    return cid_text(cid_bytes(codec, digest))
