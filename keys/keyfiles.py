"""Key files in standard formats.

secp256k1 keys: Ethereum keystore v3 JSON with scrypt (what geth, clef and eth-account
read). X25519 keys: PKCS#8 encrypted PEM (PBES2: PBKDF2-HMAC-SHA256 with a real iteration
count and AES-256-CBC; see ``keys._pkcs8``), what ``openssl pkey`` reads. Both raise
:class:`WrongPassphrase` for a wrong passphrase (which for PEM is indistinguishable from a
corrupt file).
"""

from __future__ import annotations

import json

from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    load_pem_private_key,
)
from eth_account import Account

from keys._pkcs8 import DEFAULT_PBKDF2_ITERATIONS, encrypt_pkcs8_der
from keys.exceptions import KeystoreError, WrongPassphrase
from keys.signing import SigningKey

__all__ = [
    "DEFAULT_PBKDF2_ITERATIONS",
    "DEFAULT_SCRYPT_N",
    "decrypt_signing_key",
    "decrypt_x25519_key",
    "encrypt_signing_key",
    "encrypt_x25519_key",
]

#: eth-account's own default scrypt cost (n = 2**18, r = 8: ~256 MiB and ~1 s per unlock).
DEFAULT_SCRYPT_N = 2**18


def encrypt_signing_key(key: SigningKey, passphrase: str, *, scrypt_n: int) -> bytes:
    """Keystore v3 JSON bytes for ``key``."""
    if scrypt_n < 2 or scrypt_n & (scrypt_n - 1):
        raise ValueError("scrypt n must be a power of two")
    doc = Account.encrypt(key.secret_bytes(), passphrase, kdf="scrypt", iterations=scrypt_n)
    return json.dumps(doc, indent=2, sort_keys=True).encode() + b"\n"


def decrypt_signing_key(data: bytes, passphrase: str) -> SigningKey:
    """Decrypt a keystore v3 JSON file."""
    try:
        doc = json.loads(data)
    except ValueError:
        raise KeystoreError("key file is not JSON") from None
    if not isinstance(doc, dict) or doc.get("version") != 3 or "crypto" not in doc:
        raise KeystoreError("key file is not an Ethereum keystore v3")
    try:
        secret = Account.decrypt(doc, passphrase)
    except ValueError as exc:
        if "MAC mismatch" in str(exc):
            raise WrongPassphrase("wrong passphrase") from None
        raise KeystoreError("key file is corrupt or of an unsupported kind") from None
    return SigningKey(bytes(secret))


def encrypt_x25519_key(
    key: X25519PrivateKey, passphrase: str, *, iterations: int = DEFAULT_PBKDF2_ITERATIONS
) -> bytes:
    """PKCS#8 encrypted PEM bytes for ``key``."""
    plain = key.private_bytes(Encoding.DER, PrivateFormat.PKCS8, NoEncryption())
    return encrypt_pkcs8_der(plain, passphrase.encode("utf-8"), iterations=iterations)


def decrypt_x25519_key(data: bytes, passphrase: str) -> X25519PrivateKey:
    """Decrypt a PKCS#8 encrypted PEM X25519 key."""
    try:
        key = load_pem_private_key(data, passphrase.encode("utf-8"))
    except (ValueError, TypeError):
        raise WrongPassphrase("wrong passphrase (or a corrupt key file)") from None
    if not isinstance(key, X25519PrivateKey):
        raise KeystoreError("key file does not hold an X25519 key")
    return key
