"""Parse and encode the identifiers users type and the chain uses.

The access token's ``grantId`` is ``bytes32`` while ``Grants`` numbers grants with
``uint256``: the token carries the uint256 encoded big-endian into 32 bytes
(:func:`grant_id_bytes32`), which is what ``abi.encode(uint256)`` gives, so a contract
could compare the two without conversion.
"""

from __future__ import annotations

from eth_utils.address import is_address, to_checksum_address

from keys.typing import CaseId, RecordId
from node.exceptions import InvalidCaseInput


def grant_id_bytes32(grant_id: int) -> bytes:
    """The token's ``bytes32`` form of an on-chain uint256 grant id (big-endian)."""
    if not 0 < grant_id < 2**256:
        raise InvalidCaseInput("grant ids are positive uint256")
    return grant_id.to_bytes(32, "big")


def grant_id_from_bytes32(value: bytes) -> int:
    """Inverse of :func:`grant_id_bytes32`."""
    if len(value) != 32:
        raise InvalidCaseInput("a token grant id is 32 bytes")
    return int.from_bytes(value, "big")


def _hex32(text: str, what: str) -> bytes:
    raw = text.removeprefix("0x")
    try:
        value = bytes.fromhex(raw)
    except ValueError:
        raise InvalidCaseInput(f"{what} must be 32 bytes of hex, got {text!r}") from None
    if len(value) != 32:
        raise InvalidCaseInput(f"{what} must be 32 bytes of hex (64 digits), got {len(value)}")
    return value


def parse_case_id(text: str) -> CaseId:
    """A case id as typed: 64 hex digits, ``0x`` optional. Never a patient identifier."""
    value = _hex32(text, "case id")
    if value == bytes(32):
        raise InvalidCaseInput("the zero case id is reserved")
    return CaseId(value)


def parse_record_id(text: str) -> RecordId:
    return RecordId(_hex32(text, "record id"))


def parse_address(text: str, what: str = "address") -> str:
    if not isinstance(text, str) or not is_address(text):
        raise InvalidCaseInput(f"{what} is not an Ethereum address: {text!r}")
    return str(to_checksum_address(text))
