"""A hospital's node: ingest, encrypt, store, anchor, referrals, grants, event follower."""
