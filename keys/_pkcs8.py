"""PKCS#8 ``EncryptedPrivateKeyInfo`` with a PBKDF2 cost we choose.

``cryptography``'s ``BestAvailableEncryption`` writes PBES2 with PBKDF2-HMAC-SHA256 at a
fixed 2048 iterations, and its ``encryption_builder().kdf_rounds()`` accepts only OpenSSH
and PKCS#12, not PKCS#8 (checked on cryptography 50). The same passphrase protects the
scrypt-hardened keystore v3 files, so the PEM files would be the cheapest place to guess
it. This module writes the same standard structure (RFC 5958 ``EncryptedPrivateKeyInfo``
with RFC 8018 PBES2: PBKDF2-HMAC-SHA256 + AES-256-CBC) with a chosen iteration count;
``pyasn1`` with the ``pyasn1-modules`` definitions does the DER encoding, and
``cryptography`` (or ``openssl pkey``) reads it back unchanged.
"""

from __future__ import annotations

import base64
import os

from cryptography.hazmat.primitives import hashes, padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.kdf.pbkdf2 import PBKDF2HMAC
from pyasn1.codec.der import encoder
from pyasn1.type import base, univ
from pyasn1_modules import rfc5280, rfc5958, rfc8018

#: OWASP's 2023 recommendation for PBKDF2-HMAC-SHA256.
DEFAULT_PBKDF2_ITERATIONS = 600_000
_PEM_LABEL = b"ENCRYPTED PRIVATE KEY"


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
    return _pem_armor(_pbes2_info_der(encrypted, salt=salt, iv=iv, iterations=iterations))


def _algorithm(
    oid: univ.ObjectIdentifier, parameters: base.Asn1Type
) -> rfc5280.AlgorithmIdentifier:
    """An ``AlgorithmIdentifier``; its ``ANY`` parameters hold their own DER encoding."""
    algo = rfc5280.AlgorithmIdentifier()
    algo["algorithm"] = oid
    algo["parameters"] = univ.Any(encoder.encode(parameters))
    return algo


def _pbes2_info_der(encrypted: bytes, *, salt: bytes, iv: bytes, iterations: int) -> bytes:
    """DER ``EncryptedPrivateKeyInfo`` naming PBES2(PBKDF2-HMAC-SHA256, AES-256-CBC)."""
    kdf_params = rfc8018.PBKDF2_params()
    kdf_params["salt"]["specified"] = salt
    kdf_params["iterationCount"] = iterations
    # Written explicitly: the ASN.1 default PRF is HMAC-SHA1.
    kdf_params["prf"] = _algorithm(rfc8018.id_hmacWithSHA256, univ.Null(""))
    pbes2 = rfc8018.PBES2_params()
    pbes2["keyDerivationFunc"] = _algorithm(rfc8018.id_PBKDF2, kdf_params)
    pbes2["encryptionScheme"] = _algorithm(rfc8018.aes256_CBC_PAD, rfc8018.AES_IV(iv))
    info = rfc5958.EncryptedPrivateKeyInfo()
    info["encryptionAlgorithm"] = _algorithm(rfc8018.id_PBES2, pbes2)
    info["encryptedData"] = encrypted
    der: bytes = encoder.encode(info)
    return der


def _pem_armor(der: bytes) -> bytes:
    """RFC 7468 strict textual encoding: base64 in 64-character lines between labels."""
    b64 = base64.b64encode(der)
    lines = [b64[i : i + 64] for i in range(0, len(b64), 64)]
    return b"".join(
        [b"-----BEGIN " + _PEM_LABEL + b"-----\n"]
        + [line + b"\n" for line in lines]
        + [b"-----END " + _PEM_LABEL + b"-----\n"]
    )
