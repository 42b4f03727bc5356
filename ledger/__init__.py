"""The consortium's permissioned EVM chain: py-evm execution, storage, mempool, JSON-RPC."""
