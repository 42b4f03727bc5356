"""The genesis block a consortium genesis file defines."""

from __future__ import annotations

from typing import Any

from eth.db.atomic import AtomicDB
from eth_hash.auto import keccak

from ledger.config import Genesis, dump_genesis
from ledger.typing import Hash32
from ledger.vm import chain_class, header_defaults


def genesis_params(genesis: Genesis) -> dict[str, Any]:
    """Header fields of the genesis block.

    extraData is the keccak of the canonical genesis JSON, so the genesis hash commits to
    every consensus parameter (chain id, validators, permissions, interval), and a data dir
    made for one consortium config cannot be opened with another.
    """
    return {
        **header_defaults(),
        "gas_limit": genesis.gas_limit,
        "timestamp": genesis.timestamp,
        "extra_data": keccak(dump_genesis(genesis).encode()),
        "coinbase": b"\x00" * 20,
    }


def genesis_hash(genesis: Genesis) -> Hash32:
    """The hash of the genesis block a ``genesis`` defines (computed in memory)."""
    chain = chain_class(genesis.chain_id).from_genesis(
        AtomicDB(), genesis_params(genesis), genesis.genesis_state()
    )
    return Hash32(chain.get_canonical_head().hash)
