"""Identifier types of the ledger; ``NewType`` keeps hashes and numbers from being mixed up."""

from __future__ import annotations

from typing import NewType

from eth_typing import Address, BlockNumber, Hash32

ChainId = NewType("ChainId", int)
Height = NewType("Height", int)
Round = NewType("Round", int)

__all__ = ["Address", "BlockNumber", "ChainId", "Hash32", "Height", "Round"]
