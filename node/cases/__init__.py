"""Referrals, grants, token delivery and the chain event follower of a hospital node.

Design notes (flows 3, 4 and 7 of ``DESIGN.md``):

- **Where wrapped keys live.** A grant's wrapped data keys are public-safe (sealed to the
  grantee's X25519 key), so the grantor puts a *grant package* (canonical JSON: grant and
  referral ids, case id, the grantee's key version, and per record its id, CID, content
  hash, wrapped DEK) into its own blob store. ``Grants.issue`` has no free data field, so
  the package CID travels with the access token in the delivery; the on-chain
  ``scopeRoot`` (Merkle root of the sorted record ids) binds the package to the grant: a
  package whose record ids do not hash to the grant's scope root is refused.
- **How ciphertext moves.** The issuing node serves raw blocks on ``GET /blocks/{cid}``;
  the grantee walks the DAG block by block, re-verifying every block against its CID
  (CIDs are self-verifying, so the issuer is not trusted), and re-imports the bytes into
  its own store, which must give the same CID (same import profile), then pins it.
- **Token delivery.** ``POST {grantee endpoint}/deliveries`` (the endpoint is the
  grantee's ``Consortium`` entry) with the token and the package CID. The request is
  authenticated by the token's own EIP-712 signature, checked offline with
  :mod:`keys.tokens` and against the grant on chain; delivering twice is a no-op.
"""
