"""A stand-in ``Consortium`` for tests: ``isPermitted(address)`` reads one storage slot.

Runtime, assembled from opcodes: with calldata longer than 36 bytes it stores
``calldata[36:68]`` at slot ``calldata[4:36]`` (an unguarded setter, for tests only);
otherwise it returns ``sload(calldata[4:36])`` as a 32-byte word, which ABI-decodes as the
``bool`` of ``isPermitted(address) returns (bool)``. Genesis pre-loads the slots
(``alloc.storage``: address as integer -> 1).
"""

from __future__ import annotations

RUNTIME = bytes.fromhex(
    "36602410"  # calldatasize > 36 ?
    "601357"  # jumpi set
    "600435546000526020"
    "6000f3"  # return sload(calldata[4:36])
    "5b602435600435"
    "5500"  # set: sstore(calldata[4:36], calldata[36:68]); stop
)


def setter_calldata(address: bytes, permitted: bool) -> bytes:
    """Calldata for the test setter: 4 ignored bytes, the address word, the flag word."""
    return b"\x00" * 4 + address.rjust(32, b"\x00") + int(permitted).to_bytes(32, "big")
