"""The private primitive module against published vectors (NIST GCM, RFC 9180 HPKE)."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from keys._primitives import Aead, derive_key, hpke_open, hpke_seal
from keys.exceptions import DecryptionError, InvalidKey

h = bytes.fromhex

# McGrew & Viega, "The Galois/Counter Mode of Operation (GCM)", Appendix B, Test Cases 13-16
# (AES-256); the same values are NIST SP 800-38D's published examples.
K15 = h("feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308")
IV15 = h("cafebabefacedbaddecaf888")
P15 = h(
    "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a72"
    "1c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b391aafd255"
)
C15 = h(
    "522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa"
    "8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662898015ad"
)
GCM_AES256_CASES = [
    # (case, key, iv, plaintext, aad, ciphertext, tag)
    ("13", bytes(32), bytes(12), b"", b"", b"", h("530f8afbc74536b9a963b4f1c4cb738b")),
    (
        "14",
        bytes(32),
        bytes(12),
        bytes(16),
        b"",
        h("cea7403d4d606b6e074ec5d3baf39d18"),
        h("d0d1c8a799996bf0265b98b5d48ab919"),
    ),
    ("15", K15, IV15, P15, b"", C15, h("b094dac5d93471bdec1a502270e3cc6c")),
    (
        "16",
        K15,
        IV15,
        P15[:60],
        h("feedfacedeadbeeffeedfacedeadbeefabaddad2"),
        C15[:60],
        h("76fc6ece0f4e1768cddf8853bb2d551b"),
    ),
]


@pytest.mark.parametrize(
    ("case", "key", "iv", "pt", "aad", "ct", "tag"), GCM_AES256_CASES, ids=lambda v: str(v)[:8]
)
def test_aes256_gcm_matches_the_gcm_spec_test_cases(
    case: str, key: bytes, iv: bytes, pt: bytes, aad: bytes, ct: bytes, tag: bytes
) -> None:
    aead = Aead(key)
    assert aead.seal(iv, pt, aad) == ct + tag
    assert aead.open(iv, ct + tag, aad) == pt


@pytest.mark.parametrize("case", GCM_AES256_CASES, ids=lambda c: c[0])
def test_every_single_bit_flip_of_a_gcm_vector_is_one_opaque_error(case: tuple[bytes, ...]) -> None:
    _, key, iv, _, aad, ct, tag = case
    sealed = ct + tag
    aead = Aead(key)
    for i in range(len(sealed) * 8):
        bad = bytearray(sealed)
        bad[i // 8] ^= 1 << (i % 8)
        with pytest.raises(DecryptionError):
            aead.open(iv, bytes(bad), aad)
    with pytest.raises(DecryptionError):
        aead.open(iv, sealed, aad + b"x")
    with pytest.raises(DecryptionError):
        aead.open(iv, sealed[:15], aad)  # shorter than a tag


@pytest.mark.parametrize("key", [b"", bytes(16), bytes(31), bytes(33), "k" * 32])
def test_aead_refuses_a_key_that_is_not_256_bits_at_construction(key: object) -> None:
    with pytest.raises(InvalidKey):
        Aead(key)  # type: ignore[arg-type]


def test_hkdf_sha256_matches_rfc5869_test_case_1() -> None:
    # RFC 5869 Appendix A.1 (HKDF-SHA256, basic test case), first 32 bytes of OKM.
    okm = derive_key(
        h("0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b"),
        salt=h("000102030405060708090a0b0c"),
        info=h("f0f1f2f3f4f5f6f7f8f9"),
        length=42,
    )
    assert okm == h(
        "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865"
    )


# RFC 9180 test vectors, suite DHKEM(X25519, HKDF-SHA256) / HKDF-SHA256 / AES-256-GCM,
# mode 0 (base): the vector with mode=0, kem_id=32, kdf_id=1, aead_id=2 in the CFRG's
# test-vectors.json (github.com/cfrg/draft-irtf-cfrg-hpke, commit 5f503c5, the set the RFC
# publishes; RFC 9180's appendix prints only the AES-128-GCM and ChaCha20 suites).
V_INFO = h("4f6465206f6e2061204772656369616e2055726e")
V_SKRM = h("497b4502664cfea5d5af0b39934dac72242a74f8480451e1aee7d6a53320333d")
V_PKRM = h("430f4b9859665145a6b1ba274024487bd66f03a2dd577d7753c68d7d7d00c00c")
V_ENC = h("6c93e09869df3402d7bf231bf540fadd35cd56be14f97178f0954db94b7fc256")
V_KEY = h("f50b0609186798729ed0564b36ef2ef8044f1f9d05636874d1f46c819c7a669f")
V_BASE_NONCE = h("151d9929e2449747889bc923")
V_PT = h("4265617574792069732074727574682c20747275746820626561757479")
# encryptions[0]: sequence number 0, aad "Count-0"
V_AAD0 = h("436f756e742d30")
V_CT0 = h(
    "e5d84cd531cfb583096e7cfa9641bd3079cf3a91cda813c52deb5f512be9931980a41de125a925cdad859d5b7a"
)


def test_rfc9180_vector_values_are_self_consistent() -> None:
    """Transcription check: the vector's key and nonce open its published ciphertext."""
    sk = X25519PrivateKey.from_private_bytes(V_SKRM)
    assert sk.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw) == V_PKRM
    assert Aead(V_KEY).open(V_BASE_NONCE, V_CT0, V_AAD0) == V_PT


def test_hpke_open_derives_the_rfc9180_key_schedule_for_the_vector_enc_and_info() -> None:
    """Our single-shot open uses aad = b"" and sequence 0, so seal the vector's plaintext
    under the vector's key/base_nonce with empty aad: it opens only if our HPKE derives
    exactly the published key and base_nonce from (skRm, enc, info)."""
    sk = X25519PrivateKey.from_private_bytes(V_SKRM)
    ciphertext = AESGCM(V_KEY).encrypt(V_BASE_NONCE, V_PT, b"")
    assert hpke_open(sk, V_ENC + ciphertext, info=V_INFO) == V_PT
    with pytest.raises(DecryptionError):
        hpke_open(sk, V_ENC + ciphertext, info=V_INFO + b"!")


def test_hpke_seal_then_open_round_trips_and_every_failure_is_the_same_error() -> None:
    sk = X25519PrivateKey.generate()
    sealed = hpke_seal(sk.public_key(), b"data key", info=b"ctx")
    assert len(sealed) == 32 + 8 + 16
    assert hpke_open(sk, sealed, info=b"ctx") == b"data key"
    for bad in (sealed[:-1], sealed + b"\0", b"", bytes(len(sealed))):
        with pytest.raises(DecryptionError):
            hpke_open(sk, bad, info=b"ctx")
    with pytest.raises(DecryptionError):
        hpke_open(X25519PrivateKey.generate(), sealed, info=b"ctx")
