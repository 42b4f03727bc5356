"""Wire form of an access token: base64url (no padding) of a fixed-layout binary.

Layout, version 1 (270 bytes, 360 characters)::

    version u8 = 1 | chain_id u64 | grants_contract (20) | issuer (20) | grant_id (32)
    | case_id (32) | grantee (20) | scope_root (32) | expiry u64 | nonce (32)
    | signature r || s || v (65)

Fixed length means no length prefixes to lie about: anything shorter or longer, any
character outside the base64url alphabet, padding, or an unknown version is rejected
before a signature is looked at.
"""

from __future__ import annotations

import base64
import re
import struct
from dataclasses import dataclass

from eth_utils.address import to_checksum_address

from keys.exceptions import MalformedToken

TOKEN_VERSION = 1
_LAYOUT = struct.Struct(">BQ20s20s32s32s20s32sQ32s65s")
TOKEN_BYTES = _LAYOUT.size
TOKEN_CHARS = -(-TOKEN_BYTES * 4 // 3)
_ALPHABET = re.compile(rb"[A-Za-z0-9_-]*")


@dataclass(frozen=True, slots=True)
class SignedToken:
    """A decoded token: the signed claims, the domain they were signed for, the signature."""

    chain_id: int
    grants_contract: str
    issuer: str
    grant_id: bytes
    case_id: bytes
    grantee: str
    scope_root: bytes
    expiry: int
    nonce: bytes
    signature: bytes

    def to_bytes(self) -> bytes:
        return _LAYOUT.pack(
            TOKEN_VERSION,
            self.chain_id,
            bytes.fromhex(self.grants_contract[2:]),
            bytes.fromhex(self.issuer[2:]),
            self.grant_id,
            self.case_id,
            bytes.fromhex(self.grantee[2:]),
            self.scope_root,
            self.expiry,
            self.nonce,
            self.signature,
        )

    def encode(self) -> str:
        return base64.urlsafe_b64encode(self.to_bytes()).rstrip(b"=").decode("ascii")

    @classmethod
    def from_bytes(cls, raw: bytes) -> SignedToken:
        if len(raw) != TOKEN_BYTES:
            raise MalformedToken(f"a token is {TOKEN_BYTES} bytes, got {len(raw)}")
        if raw[0] != TOKEN_VERSION:
            raise MalformedToken(f"unknown token version {raw[0]}")
        (_, chain_id, contract, issuer, grant_id, case_id, grantee, scope, expiry, nonce, sig) = (
            _LAYOUT.unpack(raw)
        )
        return cls(
            chain_id=chain_id,
            grants_contract=to_checksum_address(contract),
            issuer=to_checksum_address(issuer),
            grant_id=grant_id,
            case_id=case_id,
            grantee=to_checksum_address(grantee),
            scope_root=scope,
            expiry=expiry,
            nonce=nonce,
            signature=sig,
        )

    @classmethod
    def decode(cls, token: str | bytes) -> SignedToken:
        """Parse the wire form; structure only, no signature check."""
        if isinstance(token, str):
            if not token.isascii():
                raise MalformedToken("a token is ASCII base64url")
            token = token.encode("ascii")
        if not isinstance(token, bytes):
            raise MalformedToken("a token is a string")
        if len(token) != TOKEN_CHARS:
            raise MalformedToken(f"a token is {TOKEN_CHARS} characters, got {len(token)}")
        if not _ALPHABET.fullmatch(token):
            raise MalformedToken("a token is unpadded base64url")
        raw = base64.urlsafe_b64decode(token + b"=" * (-len(token) % 4))
        if base64.urlsafe_b64encode(raw).rstrip(b"=") != token:
            raise MalformedToken("non-canonical base64url")
        return cls.from_bytes(raw)
