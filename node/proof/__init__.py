"""Anchor proofs: commitments, Merkle trees, study trees, their codecs and verification."""
