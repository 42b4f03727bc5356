"""Authenticated, encrypted p2p among the validators: framing, handshake, transport, codec.

Every link is a TCP connection between two configured validator endpoints, opened by a
handshake in which both ends prove their secp256k1 node key (the validator key) over the
chain id, both sides' fresh nonces and both sides' ephemeral X25519 keys; keys not in the
configured peer list are refused. After it, every frame is length-prefixed, size-limited
and sealed with ChaCha20-Poly1305 under a per-direction key derived from the ephemeral
agreement (forward secrecy) and a counter nonce, so nothing travels in clear and a
tampered, reflected or replayed frame fails to open and closes the link. Consensus
messages are additionally signed by their validator (checked by
:class:`ledger.consensus.ConsensusDriver`); transactions dedup by hash in the mempool.
See ``ledger/p2p/README.md``.
"""
