"""Identities and key material: keystores, rotation, envelope encryption, token signing.

Where to start:

- ``keys.stream``: ``encrypt_stream`` / ``decrypt_stream`` (chunked AES-256-GCM, constant
  memory, one opaque ``DecryptionError``).
- ``keys.datakey`` + ``keys.envelope``: a fresh ``DataKey`` per record, wrapped with HPKE to
  a hospital's versioned X25519 key (``EncryptionKeyring``, ``EncryptionPublicKey``,
  ``WrappedKey``), bound to the record id; one opaque ``UnwrapError``.
- ``keys.tokens``: ``TokenIssuer`` / ``TokenVerifier`` (EIP-712 access tokens, offline
  verification, one error per reason, ``verify_at_time`` for an injected clock).
- ``keys.keystore``: a hospital's keystore directory; ``keys.cli`` is ``medledger keys``.
- ``keys.signing``: secp256k1 identities (``SigningKey``; p2p digests via ``sign_digest`` /
  ``recover_digest_signer``).
"""
