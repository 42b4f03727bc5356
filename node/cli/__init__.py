"""``medledger node …`` and ``medledger blob …``: the node's command line."""
