"""PKCS#8 ``EncryptedPrivateKeyInfo`` with a PBKDF2 cost we choose.

``cryptography``'s ``BestAvailableEncryption`` writes PBES2 with PBKDF2-HMAC-SHA256 at a
fixed 2048 iterations and offers no knob for PKCS#8. The same passphrase protects the
scrypt-hardened keystore v3 files, so the PEM files would be the cheapest place to guess
it. This module writes the same standard structure (RFC 8018 PBES2: PBKDF2-HMAC-SHA256 +
AES-256-CBC) with a chosen iteration count; ``asn1crypto`` does the DER encoding and
``cryptography`` (or ``openssl pkey``) reads it back unchanged.
"""

from __future__ import annotations

import os

from asn1crypto import algos as asn1_algos
from asn1crypto import keys as asn1_keys
from asn1crypto import pem as asn1_pem
from cryptography.hazmat.primitives import hashes, padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.kdf.pbkdf2 import PBKDF2HMAC

#: OWASP's 2023 recommendation for PBKDF2-HMAC-SHA256.
DEFAULT_PBKDF2_ITERATIONS = 600_000


def encrypt_pkcs8_der(plain_der: bytes, passphrase: bytes, *, iterations: int) -> bytes:
    """PEM ``ENCRYPTED PRIVATE KEY`` of an unencrypted PKCS#8 DER ``PrivateKeyInfo``."""
    if iterations < 1000:
        raise ValueError("PBKDF2 iterations below 1000 are not a key derivation")
    salt, iv = os.urandom(16), os.urandom(16)
    kek = PBKDF2HMAC(hashes.SHA256(), 32, salt, iterations).derive(passphrase)
    padder = padding.PKCS7(128).padder()
    padded = padder.update(plain_der) + padder.finalize()
    encryptor = Cipher(algorithms.AES(kek), modes.CBC(iv)).encryptor()
    encrypted = encryptor.update(padded) + encryptor.finalize()
    info = asn1_keys.EncryptedPrivateKeyInfo(
        {
            "encryption_algorithm": {
                "algorithm": "pbes2",
                "parameters": {
                    "key_derivation_func": {
                        "algorithm": "pbkdf2",
                        "parameters": {
                            "salt": asn1_algos.Pbkdf2Salt(name="specified", value=salt),
                            "iteration_count": iterations,
                            "prf": {"algorithm": "sha256"},
                        },
                    },
                    "encryption_scheme": {"algorithm": "aes256_cbc", "parameters": iv},
                },
            },
            "encrypted_data": encrypted,
        }
    )
    pem: bytes = asn1_pem.armor("ENCRYPTED PRIVATE KEY", info.dump())
    return pem
