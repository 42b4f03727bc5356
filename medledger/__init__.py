"""medledger: a blockchain-backed record-sharing ledger for a medical consortium."""

from common.version import __version__

__all__ = ["__version__"]
