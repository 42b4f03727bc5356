"""Anchoring: the durable outbox, its drain to the chain, and record versions."""
