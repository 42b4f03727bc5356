"""Benchmarks, run by ``make bench`` (``python -m bench``); results as JSON in bench/results/."""

# Importing the ledger package first selects the keccak backend the node uses (see
# ledger/__init__.py) before any benchmark module hashes at import time, so py-evm
# ceilings measured in this process hash exactly as our node does.
import ledger  # noqa: F401
