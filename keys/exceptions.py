"""Errors of the keys package; every one derives from :class:`KeysError`.

Decryption and unwrapping each raise one opaque error whatever went wrong (bad tag, wrong
key, truncated or reordered stream, wrong record): telling an attacker *which* check failed
is an oracle. Access tokens, on the other hand, fail with one specific error per reason,
because the caller (the gateway) must answer "expired" differently from "forged".
"""

from __future__ import annotations


class KeysError(Exception):
    """Root of every error raised by the keys package."""


class InvalidKey(KeysError, ValueError):
    """Key material has the wrong type or length (raised at construction, never later)."""


class DecryptionError(KeysError):
    """A ciphertext (stream or single message) did not authenticate. Deliberately opaque."""


class UnwrapError(KeysError):
    """A wrapped data key could not be unwrapped. Deliberately opaque."""


class MalformedWrappedKey(KeysError, ValueError):
    """The bytes are not a wrapped key of a version this code understands."""


# --- keystores -----------------------------------------------------------------------------


class KeystoreError(KeysError):
    """A keystore directory or file is missing, unreadable or inconsistent."""


class KeystoreNotFound(KeystoreError):
    """No keystore (or no such identity in it) at the given place."""


class KeystoreExists(KeystoreError):
    """Refusing to overwrite an existing key: keys are never replaced in place."""


class WrongPassphrase(KeystoreError):
    """The passphrase does not decrypt the keystore."""


class PassphraseUnavailable(KeystoreError):
    """No passphrase in the environment and no terminal to prompt on."""


# --- access tokens -------------------------------------------------------------------------


class TokenError(KeysError):
    """Root of every access-token verification failure."""


class MalformedToken(TokenError, ValueError):
    """Not a token: bad encoding, wrong length, unknown version, trailing bytes."""


class BadSignature(TokenError):
    """The signature does not verify for the claims (tampered, forged or non-canonical)."""


class WrongIssuer(TokenError):
    """Validly signed, but by someone other than the hospital expected to have issued it."""


class TokenExpired(TokenError):
    """The token's expiry is at or before the verification time."""


class WrongChain(TokenError):
    """The token's EIP-712 domain names another chain id."""


class WrongContract(TokenError):
    """The token's EIP-712 domain names another Grants contract."""


class WrongGrantee(TokenError):
    """The token was issued to another hospital."""
