"""Names of the LMDB databases and keys the ledger writes besides py-evm's own."""

from __future__ import annotations

#: py-evm's chain database (state tries, blocks, receipts, canonical index).
EVM_DB = "evm"
#: Our records: the genesis hash the dir belongs to, the commit of every block.
META_DB = "meta"
GENESIS_KEY = b"genesis-hash"
_COMMIT_PREFIX = b"commit:"


def commit_key(number: int) -> bytes:
    """Key of the commit (seals) of block ``number``."""
    return _COMMIT_PREFIX + number.to_bytes(8, "big")
