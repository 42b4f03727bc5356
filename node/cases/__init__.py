"""Referrals, grants, token delivery, re-keying and the chain event follower of a node.

Design decisions (flows 3, 4 and 7 of ``DESIGN.md``):

- **Where wrapped keys live.** For each grant the grantor builds a *grant package*
  (canonical JSON: chain id, Grants contract, grant and referral ids, case id, the
  grantee's key version, and per record its id, CID, content hash, anchor salt and
  pseudonym, and its DEK wrapped to the grantee's current X25519 key), seals it to the
  grantee (:mod:`node.cases.sealed`: the wrapped keys alone are public-safe, but content
  hashes with salts would let anyone test guesses of small records against the anchors) and
  pins it in its own blob store. ``Grants.issue`` has no free data field, so the package CID
  travels with the access token; the on-chain ``scopeRoot`` (Merkle root of the sorted
  record ids, :func:`node.cases.package.scope_root`) binds the package to the grant.
- **How ciphertext moves.** The issuing node serves raw blocks on ``GET /blocks/{cid}``;
  the grantee walks the DAG block by block, re-verifying every block against its CID and
  every declared size (the issuer is not trusted), re-imports the bytes into its own store
  (same import profile, so the same CID) and pins them. A Kubo private swarm could do this
  natively; the HTTP route works for the embedded store too.
- **Token delivery.** ``POST {grantee endpoint}/deliveries`` (the endpoint is the grantee's
  ``Consortium`` entry) with the token, the package CID, ``issued_at`` and the grantor's
  EIP-712 ``GrantDelivery`` signature over all three (:mod:`keys.delivery`; the token alone
  does not name the package). The grantee checks the token offline (:mod:`keys.tokens`),
  the grant on chain (same grantor, grantee, case and scope), that the delivery's signer is
  the on-chain grantor, and that ``issued_at`` is newer than the delivery it holds; it lists
  delivered grants in ``GET /grants/inbox`` (:mod:`node.cases.inbox`). Idempotent; a
  grantee that was offline gets it from ``deliver_pending``. The token's ``grantId`` is
  the uint256 grant id, big-endian in 32 bytes (:func:`node.cases.ids.grant_id_bytes32`).
- **The follower** (:mod:`node.cases.follower`) reads ``Referrals``/``Grants`` logs by
  block ranges and applies each range in one SQLite transaction with its cursor, so a
  restart resumes exactly where it stopped; network work (fetch, verify, pin; unpin after a
  revocation) runs after the commit and is retried until it succeeds.
- **Revoke / forget** (:mod:`node.cases.forget`): ``Grants.revoke`` stops redemptions at
  once and the grantee's follower drops its copies; re-keying re-encrypts a record under a
  new DEK and re-issues the packages of the grants kept; crypto-shredding destroys every
  wrapped DEK we hold and the ciphertext, while the anchor stays on chain as evidence.
- **Reading a grant back** (:mod:`node.cases.read`): the one verified read path (open the
  package, check the anchor, unwrap, decrypt, re-hash), used by the gateway and the tests.
"""
