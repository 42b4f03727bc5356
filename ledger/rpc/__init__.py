"""JSON-RPC 2.0 over HTTP and WebSocket, serving a :class:`ledger.abc.LedgerAPI`."""
