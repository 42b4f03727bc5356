"""Resolution of block references against the ledger.

Finality is immediate, so every tag but ``earliest`` names the head.
"""

from __future__ import annotations

from ledger.abc import LedgerAPI
from ledger.exceptions import BlockNotFound
from ledger.rpc.errors import ResourceNotFound
from ledger.rpc.params import BlockRef
from ledger.typing import BlockNumber


def resolve_number(ledger: LedgerAPI, ref: BlockRef) -> BlockNumber:
    """The number a reference names, which may be past the head (callers decide what that means)."""
    if ref.tag is not None:
        return BlockNumber(0 if ref.tag == "earliest" else ledger.head().block_number)
    if ref.number is not None:
        return BlockNumber(ref.number)
    assert ref.block_hash is not None
    try:
        return BlockNumber(ledger.get_block_by_hash(ref.block_hash).header.block_number)
    except BlockNotFound:
        raise ResourceNotFound(
            "header for hash not found", data={"blockHash": "0x" + ref.block_hash.hex()}
        ) from None


def resolve_state(ledger: LedgerAPI, ref: BlockRef) -> BlockNumber:
    """A block whose state exists; past the head is an error (geth: header not found)."""
    number = resolve_number(ledger, ref)
    if number > ledger.head().block_number:
        raise ResourceNotFound("header not found", data={"blockNumber": hex(number)})
    return number
