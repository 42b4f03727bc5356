"""A tiny contract for tests and benchmarks, assembled from opcodes (no compiler needed).

Called with a 32-byte word ``v``: stores ``v`` in slot 0 and emits ``LOG1(topic=STORED,
data=v)``. Called with ``v == 0xdead``: reverts with the 4 bytes ``b"bad!"``.
"""

from __future__ import annotations

from eth_hash.auto import keccak

STORED_TOPIC = keccak(b"Stored(uint256)")
REVERT_WORD = 0xDEAD
REVERT_DATA = b"bad!"


def _runtime() -> bytes:
    head = bytes.fromhex("6000358061dead14")  # v = calldata[0:32]; v == 0xdead
    body = (
        bytes.fromhex("80600055")  # sstore(0, v)
        + bytes.fromhex("600052")  # mstore(0, v)
        + b"\x7f"
        + STORED_TOPIC  # push32 topic
        + bytes.fromhex("60206000a1")  # log1(0, 32, topic)
        + b"\x00"  # stop
    )
    revert_at = len(head) + 3 + len(body)
    jump = bytes([0x60, revert_at, 0x57])  # push1 dest; jumpi
    revert = (
        b"\x5b"  # jumpdest
        + b"\x63"
        + REVERT_DATA  # push4 "bad!"
        + bytes.fromhex("600052")  # mstore(0, "bad!") -> bytes 28..32
        + bytes.fromhex("6004601cfd")  # revert(28, 4)
    )
    return head + jump + body + revert


RUNTIME = _runtime()
_CONSTRUCTOR_LENGTH = 12
#: codecopy(0, 12, len); return(0, len) -- then a STOP pad so the runtime starts at byte 12.
INITCODE = (
    bytes([0x60, len(RUNTIME), 0x80, 0x60, _CONSTRUCTOR_LENGTH, 0x60, 0x00, 0x39, 0x60, 0x00, 0xF3])
    + b"\x00"
    + RUNTIME
)


def word(value: int) -> bytes:
    return value.to_bytes(32, "big")
