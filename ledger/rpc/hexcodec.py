"""Wire encodings of Ethereum JSON-RPC: quantities and byte strings as 0x-hex.

Decoders raise ``ValueError`` with a reason a client can act on; the parameter layer adds which
parameter it was.
"""

from __future__ import annotations

from typing import Any

UINT256_MAX = 2**256 - 1
_HEX_DIGITS = frozenset("0123456789abcdefABCDEF")


def to_quantity(value: int) -> str:
    """An unsigned integer as a QUANTITY: 0x-hex without leading zeros."""
    return hex(value)


def to_data(value: bytes) -> str:
    """A byte string as DATA: 0x-hex, two digits per byte."""
    return "0x" + value.hex()


def to_data32(value: int) -> str:
    """A 256-bit word (storage value, topic given as int) as 32-byte DATA."""
    return "0x" + value.to_bytes(32, "big").hex()


def decode_quantity(value: Any, *, max_value: int = UINT256_MAX) -> int:
    """Decode a QUANTITY: ``0x`` then hex digits, no leading zeros (as geth requires)."""
    if not isinstance(value, str):
        raise ValueError(f"expected a 0x-prefixed hex string, got {type(value).__name__}")
    if not value.startswith(("0x", "0X")):
        raise ValueError("hex string without 0x prefix")
    digits = value[2:]
    if not digits:
        raise ValueError("empty hex number")
    if not _HEX_DIGITS.issuperset(digits):
        raise ValueError("invalid hex digit")
    if len(digits) > 1 and digits[0] == "0":
        raise ValueError("hex number with leading zero digits")
    number = int(digits, 16)
    if number > max_value:
        raise ValueError("hex number too large")
    return number


def decode_data(value: Any, *, size: int | None = None, max_size: int | None = None) -> bytes:
    """Decode DATA: ``0x`` then an even number of hex digits; optionally an exact size."""
    if not isinstance(value, str):
        raise ValueError(f"expected a 0x-prefixed hex string, got {type(value).__name__}")
    if not value.startswith(("0x", "0X")):
        raise ValueError("hex string without 0x prefix")
    digits = value[2:]
    if len(digits) % 2:
        raise ValueError("hex string of odd length")
    if max_size is not None and len(digits) // 2 > max_size:
        raise ValueError(f"longer than {max_size} bytes")
    if not _HEX_DIGITS.issuperset(digits):
        raise ValueError("invalid hex digit")
    raw = bytes.fromhex(digits)
    if size is not None and len(raw) != size:
        raise ValueError(f"expected {size} bytes, got {len(raw)}")
    return raw
