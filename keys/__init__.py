"""Identities and key material: keystores, rotation, envelope encryption, token signing."""
