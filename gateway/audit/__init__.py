"""The auditor's side of the gateway: the story of a record, case or grant from chain events.

Read-only by construction: everything here reads logs, blocks and transactions through
web3.py (and, for the ciphertext check, CIDs from a blob store); nothing signs or sends.
"""
