"""The keys package's part of flows 1, 4 and 5, end to end with real keystores on disk."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from keys.datakey import DataKey
from keys.envelope import EncryptionPublicKey
from keys.exceptions import UnwrapError, WrongGrantee
from keys.keystore import Keystore
from keys.stream import decrypt_stream, encrypt_stream
from keys.tokens import TokenIssuer, TokenVerifier, parse_token

PASS = "correct horse battery staple"
CHAIN, GRANTS = 4242, "0x" + "ab" * 20
NOW = 1_800_000_000


def _hospital(root: Path) -> Keystore:
    return Keystore.create(root, PASS, scrypt_n=2**10, pbkdf2_iterations=1000)


def test_ingest_grant_and_redeem_a_record_across_two_hospitals(tmp_path: Path) -> None:
    lower, upper = _hospital(tmp_path / "clinic"), _hospital(tmp_path / "tertiary")
    record = os.urandom(3 * 1024 * 1024 + 17)  # a few chunks and a partial one
    record_id = hashlib.sha256(b"record-1").digest()

    # Flow 1 (lower tier ingests): hash, fresh DEK, streaming encryption, wrap to itself.
    content_hash = hashlib.sha256(record).digest()
    dek = DataKey.generate()
    stored = b"".join(encrypt_stream(dek, [record], aad=record_id))
    own_wrap = lower.load_keyring(PASS).wrap(dek, record_id=record_id).to_bytes()

    # Upper tier rotates its key before the grant; the grant must use the current version.
    upper.rotate_encryption_key(PASS)
    published = Keystore.open(upper.root).export_public()["encryption"]

    # Flow 4 (lower tier grants): re-wrap the DEK to the grantee's published key, sign a token.
    grantee_key = EncryptionPublicKey(
        published["version"], bytes.fromhex(published["public_key"][2:])
    )
    dek_again = lower.load_keyring(PASS).unwrap(own_wrap, record_id=record_id)
    grant_wrap = grantee_key.wrap(dek_again, record_id=record_id).to_bytes()
    upper_address = upper.export_public()["signing_address"]
    token = TokenIssuer(lower.load_signing_key(PASS), chain_id=CHAIN, grants_contract=GRANTS).issue(
        grant_id=os.urandom(32),
        case_id=os.urandom(32),
        grantee=upper_address,
        scope_root=hashlib.sha256(record_id).digest(),
        expiry=NOW + 86_400,
    )

    # Flow 5 (upper tier's gateway redeems): verify offline, unwrap, decrypt, re-hash.
    verifier = TokenVerifier(chain_id=CHAIN, grants_contract=GRANTS, grantee=upper_address)
    issuer = parse_token(token).issuer  # in production: the grant's issuer read from chain
    assert issuer == lower.export_public()["signing_address"]
    claims = verifier.verify_at_time(token, issuer=issuer, now=NOW)
    assert claims.scope_root == hashlib.sha256(record_id).digest()
    upper_dek = Keystore.open(upper.root).load_keyring(PASS).unwrap(grant_wrap, record_id=record_id)
    served = b"".join(decrypt_stream(upper_dek, [stored], aad=record_id))
    assert hashlib.sha256(served).digest() == content_hash

    # Nobody else: the lower tier cannot use the grant wrap, a third hospital cannot redeem.
    with pytest.raises(UnwrapError):
        lower.load_keyring(PASS).unwrap(grant_wrap, record_id=record_id)
    third = _hospital(tmp_path / "other")
    other_verifier = TokenVerifier(
        chain_id=CHAIN, grants_contract=GRANTS, grantee=third.export_public()["signing_address"]
    )
    with pytest.raises(WrongGrantee):
        other_verifier.verify_at_time(token, issuer=issuer, now=NOW)
