"""One decoded suite event and the topic encoding of indexed arguments (plain values)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from eth_typing import ChecksumAddress
from hexbytes import HexBytes


@dataclass(frozen=True, slots=True)
class ChainEvent:
    """One decoded log, with where and when it happened and who caused it."""

    contract: str
    address: ChecksumAddress
    name: str
    #: Decoded arguments, JSON-ready: bytes as ``0x`` hex, addresses checksummed.
    args: Mapping[str, Any]
    block_number: int
    block_hash: str
    tx_hash: str
    log_index: int
    time: datetime
    actor: ChecksumAddress

    @property
    def order(self) -> tuple[int, int]:
        """Chain order: block, then position in the block."""
        return (self.block_number, self.log_index)


def json_value(value: Any) -> Any:
    """A decoded ABI value as JSON data: bytes as ``0x`` hex, tuples as lists."""
    if isinstance(value, bytes | bytearray):
        return "0x" + bytes(value).hex()
    if isinstance(value, list | tuple):
        return [json_value(v) for v in value]
    return value


TopicValue = bytes | int | str


def topic_filter(
    value: TopicValue | Sequence[TopicValue] | None,
) -> HexBytes | list[HexBytes] | None:
    """One topic, or a list of alternatives (any may match), or a wildcard."""
    if value is None:
        return None
    if isinstance(value, bytes | int | str):
        return topic_of(value)
    return [topic_of(v) for v in value]


def topic_of(value: TopicValue) -> HexBytes:
    """An indexed ``bytes32``/``uint256``/``address`` argument as a 32-byte topic."""
    if isinstance(value, int):
        return HexBytes(value.to_bytes(32, "big"))
    if isinstance(value, str):
        return HexBytes(bytes(12) + bytes.fromhex(value.removeprefix("0x")))
    if len(value) != 32:
        raise ValueError("an indexed bytes32 topic must be 32 bytes")
    return HexBytes(value)
