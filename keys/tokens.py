"""Access tokens: EIP-712 typed data signed by the issuing hospital, verified offline.

A token names grant id, case id, grantee hospital, scope root, expiry and nonce; its
EIP-712 domain binds the chain id and the Grants contract, so a token for a test chain or
another deployment does not verify here. Verification needs no network: the gateway
checks the signature here and the grant's on-chain state separately.
"""

from __future__ import annotations

import dataclasses
import os
import time
from collections.abc import Callable
from dataclasses import dataclass

from eth_account import Account
from eth_account.messages import SignableMessage
from eth_utils.address import is_address, to_checksum_address

from keys.abc import TokenVerifierAPI
from keys.delivery import GrantDelivery, delivery_signer, sign_delivery
from keys.exceptions import (
    BadSignature,
    MalformedToken,
    TokenExpired,
    WrongChain,
    WrongContract,
    WrongGrantee,
    WrongIssuer,
)
from keys.signing import SECP256K1_N, SigningKey
from keys.token_wire import SignedToken
from keys.typed_data import (
    ACCESS_GRANT_TYPE,
    ACCESS_GRANT_TYPES,
    DOMAIN_NAME,
    DOMAIN_VERSION,
    access_grant_signable,
)
from keys.typing import CaseId, GrantId, HospitalAddress

__all__ = ["ACCESS_GRANT_TYPE", "ACCESS_GRANT_TYPES", "DOMAIN_NAME", "DOMAIN_VERSION"]


@dataclass(frozen=True, slots=True)
class AccessClaims:
    """What a verified token grants, and who granted it."""

    issuer: HospitalAddress
    grantee: HospitalAddress
    grant_id: GrantId
    case_id: CaseId
    scope_root: bytes
    expiry: int
    nonce: bytes
    chain_id: int
    grants_contract: HospitalAddress


def _checksum(value: str, what: str) -> HospitalAddress:
    if not isinstance(value, str) or not is_address(value):
        raise ValueError(f"{what} is not an address")
    return HospitalAddress(to_checksum_address(value))


def _bytes32(value: bytes, what: str) -> bytes:
    if not isinstance(value, bytes) or len(value) != 32:
        raise ValueError(f"{what} must be 32 bytes")
    return value


def _signable(token: SignedToken) -> SignableMessage:
    return access_grant_signable(
        chain_id=token.chain_id,
        grants_contract=token.grants_contract,
        grant_id=token.grant_id,
        case_id=token.case_id,
        grantee=token.grantee,
        scope_root=token.scope_root,
        expiry=token.expiry,
        nonce=token.nonce,
    )


class TokenIssuer:
    """Signs access tokens with a hospital's signing key for one chain and Grants contract."""

    __slots__ = ("_chain_id", "_contract", "_key")

    def __init__(self, key: SigningKey, *, chain_id: int, grants_contract: str) -> None:
        if not isinstance(key, SigningKey):
            raise TypeError("TokenIssuer needs a SigningKey")
        if not isinstance(chain_id, int) or not 0 < chain_id < 2**64:
            raise ValueError("chain_id must be a positive 64-bit integer")
        self._key = key
        self._chain_id = chain_id
        self._contract = _checksum(grants_contract, "grants_contract")

    def __repr__(self) -> str:
        return f"TokenIssuer(issuer={self._key.address}, chain_id={self._chain_id})"

    def issue(
        self,
        *,
        grant_id: GrantId | bytes,
        case_id: CaseId | bytes,
        grantee: str,
        scope_root: bytes,
        expiry: int,
        nonce: bytes | None = None,
    ) -> str:
        """A signed token in wire form; ``nonce`` defaults to 32 random bytes."""
        if not isinstance(expiry, int) or not 0 < expiry < 2**64:
            raise ValueError("expiry is a unix time in seconds")
        unsigned = SignedToken(
            chain_id=self._chain_id,
            grants_contract=self._contract,
            issuer=self._key.address,
            grant_id=_bytes32(grant_id, "grant_id"),
            case_id=_bytes32(case_id, "case_id"),
            grantee=_checksum(grantee, "grantee"),
            scope_root=_bytes32(scope_root, "scope_root"),
            expiry=expiry,
            nonce=_bytes32(os.urandom(32) if nonce is None else nonce, "nonce"),
            signature=b"",
        )
        signature = self._key.sign_message(_signable(unsigned))
        return dataclasses.replace(unsigned, signature=signature).encode()

    def sign_delivery(self, delivery: GrantDelivery) -> bytes:
        """Sign a ``GrantDelivery`` (:mod:`keys.delivery`) in this issuer's domain."""
        return sign_delivery(self._key, delivery, chain_id=self._chain_id,
                             grants_contract=self._contract)  # fmt: skip


def _recover(token: SignedToken) -> str:
    sig = token.signature
    r, s, v = int.from_bytes(sig[:32], "big"), int.from_bytes(sig[32:64], "big"), sig[64]
    if v not in (27, 28) or not 0 < r < SECP256K1_N or not 0 < s <= SECP256K1_N // 2:
        raise BadSignature("non-canonical signature")
    try:
        return str(Account.recover_message(_signable(token), signature=sig))
    except Exception:  # eth-keys raises several types for a bad point; all mean "forged"
        raise BadSignature("signature does not verify") from None


class TokenVerifier(TokenVerifierAPI):
    """Verifies tokens for this chain, this Grants contract and this (grantee) hospital."""

    __slots__ = ("_chain_id", "_clock", "_contract", "_grantee")

    def __init__(
        self,
        *,
        chain_id: int,
        grants_contract: str,
        grantee: str,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._chain_id = chain_id
        self._contract = _checksum(grants_contract, "grants_contract")
        self._grantee = _checksum(grantee, "grantee")
        self._clock = clock

    def verify(self, token: str, *, issuer: HospitalAddress | str) -> AccessClaims:
        return self.verify_at_time(token, issuer=issuer, now=self._clock())

    def delivery_signer(self, delivery: GrantDelivery, signature: bytes) -> HospitalAddress:
        """Who signed ``delivery`` in this verifier's domain; raises ``BadSignature``."""
        return delivery_signer(delivery, signature, chain_id=self._chain_id,
                               grants_contract=self._contract)  # fmt: skip

    def verify_at_time(
        self, token: str, *, issuer: HospitalAddress | str, now: float
    ) -> AccessClaims:
        expected_issuer = _checksum(issuer, "issuer")
        decoded = SignedToken.decode(token)
        if decoded.chain_id != self._chain_id:
            raise WrongChain(f"token is for chain {decoded.chain_id}, not {self._chain_id}")
        if decoded.grants_contract != self._contract:
            raise WrongContract("token is for another Grants contract")
        if _recover(decoded) != decoded.issuer:
            raise BadSignature("signature does not match the token's issuer")
        if decoded.issuer != expected_issuer:
            raise WrongIssuer("token was not issued by the expected hospital")
        if decoded.grantee != self._grantee:
            raise WrongGrantee("token was issued to another hospital")
        if decoded.expiry <= now:
            raise TokenExpired("token has expired")
        return AccessClaims(
            issuer=HospitalAddress(to_checksum_address(decoded.issuer)),
            grantee=HospitalAddress(to_checksum_address(decoded.grantee)),
            grant_id=GrantId(decoded.grant_id),
            case_id=CaseId(decoded.case_id),
            scope_root=decoded.scope_root,
            expiry=decoded.expiry,
            nonce=decoded.nonce,
            chain_id=decoded.chain_id,
            grants_contract=HospitalAddress(to_checksum_address(decoded.grants_contract)),
        )


def parse_token(token: str) -> SignedToken:
    """Decode without verifying (to find the grant, hence the expected issuer, on chain).

    Raises :class:`MalformedToken`. Never act on the result before :meth:`verify`.
    """
    try:
        return SignedToken.decode(token)
    except MalformedToken:
        raise
    except (ValueError, TypeError):
        raise MalformedToken("not a token") from None
