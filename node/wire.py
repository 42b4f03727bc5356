"""A bounded byte reader for medledger's binary formats (after OpenTimestamps' serialize.py).

Every shortfall is a :class:`~node.exceptions.TruncatedProof`, every trailing byte a
:class:`~node.exceptions.TrailingBytes`, every varuint over its limit a
:class:`~node.exceptions.LengthLimitExceeded`: callers never see ``IndexError`` or
``struct.error``. Varuints are LEB128 and must be minimal, so each value has one encoding.
"""

from __future__ import annotations

from node.exceptions import InvalidField, LengthLimitExceeded, TrailingBytes, TruncatedProof

MAX_VARUINT_BYTES = 3  # up to 2**21 - 1, far above any length we accept


class WireReader:
    """Reads a byte string front to back, refusing to read past its end."""

    def __init__(self, data: bytes) -> None:
        self._data = data
        self._pos = 0

    def read(self, n: int) -> bytes:
        if self._pos + n > len(self._data):
            raise TruncatedProof(f"input ends {self._pos + n - len(self._data)} bytes early")
        out = self._data[self._pos : self._pos + n]
        self._pos += n
        return out

    def u8(self) -> int:
        return self.read(1)[0]

    def varuint(self, limit: int) -> int:
        """A minimal LEB128 unsigned integer no greater than ``limit``."""
        value = shift = 0
        for i in range(MAX_VARUINT_BYTES):
            byte = self.u8()
            value |= (byte & 0x7F) << shift
            if not byte & 0x80:
                if byte == 0 and i > 0:
                    raise InvalidField("non-minimal varuint")
                if value > limit:
                    raise LengthLimitExceeded(f"length {value} exceeds the limit {limit}")
                return value
            shift += 7
        raise LengthLimitExceeded("varuint longer than any allowed length")

    def assert_eof(self) -> None:
        if self._pos != len(self._data):
            raise TrailingBytes(f"{len(self._data) - self._pos} bytes after the end")


def encode_varuint(n: int) -> bytes:
    """The minimal LEB128 encoding of ``n >= 0``."""
    if n < 0:
        raise ValueError("varuints are unsigned")
    out = bytearray()
    while True:
        byte = n & 0x7F
        n >>= 7
        if n:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)
