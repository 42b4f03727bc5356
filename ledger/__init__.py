"""The consortium's permissioned EVM chain: py-evm execution, storage, mempool, JSON-RPC."""

import os
from importlib.util import find_spec

# Keccak backend for eth-hash (every state-trie node, address and transaction hash): the
# pysha3 backend (safe-pysha3, C) is about 4x faster per hash than pycryptodome's (cffi),
# which eth-hash would otherwise pick first because eth-keyfile installs pycryptodome. The
# choice is made at the first hash, so it is set here, before this package imports py-evm.
# An explicit ETH_HASH_BACKEND in the environment wins; without safe-pysha3 installed
# eth-hash keeps choosing by itself.
if find_spec("sha3") is not None:
    os.environ.setdefault("ETH_HASH_BACKEND", "pysha3")
