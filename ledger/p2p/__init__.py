"""Authenticated p2p among the consortium's validators: framing, handshake, transport, codec.

Every link is a TCP connection between two configured validator endpoints, opened by a
handshake in which both ends prove their secp256k1 node key (the validator key) over the
chain id and both sides' fresh nonces; keys not in the configured peer list are refused.
After it, every frame is length-prefixed, size-limited, typed and signed by its sender
over the session and a strictly increasing sequence number, so a tampered, reflected or
replayed frame is refused. Consensus messages are additionally signed by their validator
(checked by :class:`ledger.consensus.ConsensusDriver`); transactions dedup by hash in the
mempool. See ``ledger/p2p/README.md``.
"""
