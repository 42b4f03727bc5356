"""Solidity sources of the consortium contracts and their committed compiled artifacts."""
