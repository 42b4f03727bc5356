"""Address parsing: 20-byte hex; a mixed-case address must carry a valid EIP-55 checksum."""

from __future__ import annotations

from eth_typing import ChecksumAddress
from eth_utils.address import is_checksum_address, is_hex_address, to_checksum_address


def checksummed(value: object) -> ChecksumAddress:
    """``value`` as an EIP-55 address; ``ValueError`` if malformed or mis-checksummed.

    All-lower or all-upper hex carries no checksum and is accepted; mixed case claims
    one, and a wrong one is refused: it is most likely a typo.
    """
    if not isinstance(value, str) or not is_hex_address(value):
        raise ValueError("not a 20-byte hex address")
    digits = value[2:]
    if digits != digits.lower() and digits != digits.upper() and not is_checksum_address(value):
        raise ValueError("mixed-case address with a wrong EIP-55 checksum")
    return to_checksum_address(value)
