"""Disclosure accounting: a hash-chained log of every read a gateway served, anchored on chain."""
