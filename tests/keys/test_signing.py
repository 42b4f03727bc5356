"""secp256k1 identities: p2p digest signatures are canonical and recoverable."""

from __future__ import annotations

import pytest
from eth_utils import keccak

from keys.exceptions import InvalidKey
from keys.signing import SECP256K1_N, SigningKey, address_of_public_key, recover_digest_signer


def test_a_p2p_signature_recovers_to_the_node_address() -> None:
    key = SigningKey.generate()
    digest = keccak(b"proposal height=7 round=0")
    sig = key.sign_digest(digest)
    assert recover_digest_signer(digest, sig) == key.address
    assert address_of_public_key(key.public_key) == key.address


def test_a_signature_over_another_message_recovers_someone_else_or_nobody() -> None:
    key = SigningKey.generate()
    sig = key.sign_digest(keccak(b"a"))
    assert recover_digest_signer(keccak(b"b"), sig) != key.address


def test_non_canonical_or_malformed_p2p_signatures_recover_nobody() -> None:
    key = SigningKey.generate()
    digest = keccak(b"vote")
    sig = key.sign_digest(digest)
    s = int.from_bytes(sig[32:64], "big")
    twin = sig[:32] + (SECP256K1_N - s).to_bytes(32, "big") + bytes([1 - sig[64]])
    assert recover_digest_signer(digest, twin) is None
    assert recover_digest_signer(digest, sig[:64] + b"\x1b") is None
    assert recover_digest_signer(digest, sig[:-1]) is None
    assert recover_digest_signer(digest[:31], sig) is None


def test_invalid_private_keys_are_refused_at_construction() -> None:
    for bad in (b"", bytes(32), SECP256K1_N.to_bytes(32, "big"), b"\x01" * 31):
        with pytest.raises(InvalidKey):
            SigningKey(bad)
