"""Grant deliveries: EIP-712 ``GrantDelivery`` typed data signed by the granting hospital.

An access token says *what* a grant allows, not *which package* carries its wrapped keys,
so whoever saw a token could once re-deliver it with another package CID. A delivery is
therefore signed on its own, over the grant id, the package CID, the hash of the token it
carries and an ``issuedAt`` the grantee keeps per grant (a later delivery must be newer, so
an old signed delivery cannot roll a re-keyed grant back). The domain is the token's
(chain id and Grants contract), so a delivery for another deployment does not verify here.
The token's own wire format is unchanged: the delivery signs over its hash.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from eth_account import Account
from eth_account.messages import SignableMessage, encode_typed_data
from eth_utils.address import to_checksum_address
from eth_utils.crypto import keccak

from keys.exceptions import BadSignature
from keys.signing import SECP256K1_N, SigningKey
from keys.token_wire import SignedToken
from keys.typed_data import domain
from keys.typing import HospitalAddress

#: The EIP-712 type as Solidity would spell it.
GRANT_DELIVERY_TYPE = (
    "GrantDelivery(bytes32 grantId,string packageCid,bytes32 tokenHash,uint64 issuedAt)"
)
GRANT_DELIVERY_TYPES: dict[str, list[dict[str, str]]] = {
    "GrantDelivery": [
        {"name": "grantId", "type": "bytes32"},
        {"name": "packageCid", "type": "string"},
        {"name": "tokenHash", "type": "bytes32"},
        {"name": "issuedAt", "type": "uint64"},
    ]
}
#: A CID in text form is well under this; the bound keeps a hostile string from being hashed.
MAX_CID_CHARS = 200
SIGNATURE_BYTES = 65


def token_hash(token: str) -> bytes:
    """``keccak256`` of the token's binary layout (raises :class:`MalformedToken`)."""
    return keccak(SignedToken.decode(token).to_bytes())


@dataclass(frozen=True, slots=True)
class GrantDelivery:
    """What a delivery signature covers (``grant_id`` is the token's 32-byte grant id)."""

    grant_id: bytes
    package_cid: str
    token_hash: bytes
    issued_at: int

    def __post_init__(self) -> None:
        if not isinstance(self.grant_id, bytes) or len(self.grant_id) != 32:
            raise ValueError("grant_id must be 32 bytes")
        if not isinstance(self.token_hash, bytes) or len(self.token_hash) != 32:
            raise ValueError("token_hash must be 32 bytes")
        if not isinstance(self.package_cid, str) or not 0 < len(self.package_cid) <= MAX_CID_CHARS:
            raise ValueError(f"package_cid must be 1..{MAX_CID_CHARS} characters")
        if isinstance(self.issued_at, bool) or not isinstance(self.issued_at, int):
            raise ValueError("issued_at is a unix time in seconds")
        if not 0 < self.issued_at < 2**64:
            raise ValueError("issued_at is a unix time in seconds")

    @classmethod
    def of(cls, *, token: str, package_cid: str, issued_at: int) -> GrantDelivery:
        """The delivery of ``token`` with ``package_cid`` (raises ``MalformedToken``)."""
        decoded = SignedToken.decode(token)
        return cls(decoded.grant_id, package_cid, keccak(decoded.to_bytes()), issued_at)

    def signable(self, *, chain_id: int, grants_contract: str) -> SignableMessage:
        """The EIP-712 message in the token's domain (one domain for both types)."""
        message: dict[str, Any] = {
            "grantId": self.grant_id,
            "packageCid": self.package_cid,
            "tokenHash": self.token_hash,
            "issuedAt": self.issued_at,
        }
        return encode_typed_data(
            domain_data=domain(chain_id=chain_id, grants_contract=grants_contract),
            message_types=GRANT_DELIVERY_TYPES,
            message_data=message,
        )


def sign_delivery(
    key: SigningKey, delivery: GrantDelivery, *, chain_id: int, grants_contract: str
) -> bytes:
    """65 bytes r || s || v (v in {27, 28}) over ``delivery`` by ``key``."""
    return key.sign_message(delivery.signable(chain_id=chain_id, grants_contract=grants_contract))


def delivery_signer(
    delivery: GrantDelivery, signature: bytes, *, chain_id: int, grants_contract: str
) -> HospitalAddress:
    """The address that signed ``delivery``; raises :class:`BadSignature` if none did.

    Non-canonical signatures (high s, v outside {27, 28}) are refused, so a delivery has
    exactly one valid signature.
    """
    if not isinstance(signature, bytes) or len(signature) != SIGNATURE_BYTES:
        raise BadSignature(f"a delivery signature is {SIGNATURE_BYTES} bytes")
    r, s, v = (int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:64], "big"),
               signature[64])  # fmt: skip
    if v not in (27, 28) or not 0 < r < SECP256K1_N or not 0 < s <= SECP256K1_N // 2:
        raise BadSignature("non-canonical signature")
    signable = delivery.signable(chain_id=chain_id, grants_contract=grants_contract)
    try:
        return HospitalAddress(
            to_checksum_address(Account.recover_message(signable, signature=signature))
        )
    except Exception:  # eth-keys raises several types for a bad point; all mean "forged"
        raise BadSignature("signature does not verify") from None


__all__ = [
    "GRANT_DELIVERY_TYPE",
    "GrantDelivery",
    "delivery_signer",
    "sign_delivery",
    "token_hash",
]
