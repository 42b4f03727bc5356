"""Ingest: validated payloads in, encrypted, stored and queued in the outbox (one core)."""
