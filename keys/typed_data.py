"""The EIP-712 typed data the Grants contract verifies: one definition, used everywhere.

Two messages share one domain (name, version, chain id, the Grants contract's address, so
nothing signed for one chain or one deployment verifies on another):

* ``AccessGrant``: the access token, signed by the grantor hospital's key.
* ``Redemption``: one opening of a grant, signed by the physician's own key over the
  token's nonce, a fresh redemption nonce and a deadline. A break-glass grant has no token;
  its redemptions sign a zero token nonce.

``contracts/src/Grants.sol`` spells the same type strings; ``tests/contracts`` checks that
:func:`access_grant_digest` and :func:`redemption_digest` equal the contract's views.
"""

from __future__ import annotations

from typing import Any

from eth_account import Account
from eth_account.messages import SignableMessage, encode_typed_data
from eth_utils.address import is_address, to_checksum_address
from eth_utils.crypto import keccak

from keys.signing import SECP256K1_N, SigningKey

DOMAIN_NAME = "medledger Grants"
DOMAIN_VERSION = "1"
#: The EIP-712 type as Solidity spells it (``keccak256`` of it is the type hash).
ACCESS_GRANT_TYPE = (
    "AccessGrant(bytes32 grantId,bytes32 caseId,address grantee,bytes32 scopeRoot,"
    "uint64 expiry,bytes32 nonce)"
)
REDEMPTION_TYPE = "Redemption(uint256 grantId,bytes32 tokenNonce,bytes32 nonce,uint64 deadline)"
EIP712_DOMAIN_FIELDS: list[dict[str, str]] = [
    {"name": "name", "type": "string"},
    {"name": "version", "type": "string"},
    {"name": "chainId", "type": "uint256"},
    {"name": "verifyingContract", "type": "address"},
]
ACCESS_GRANT_TYPES: dict[str, list[dict[str, str]]] = {
    "AccessGrant": [
        {"name": "grantId", "type": "bytes32"},
        {"name": "caseId", "type": "bytes32"},
        {"name": "grantee", "type": "address"},
        {"name": "scopeRoot", "type": "bytes32"},
        {"name": "expiry", "type": "uint64"},
        {"name": "nonce", "type": "bytes32"},
    ]
}
REDEMPTION_TYPES: dict[str, list[dict[str, str]]] = {
    "Redemption": [
        {"name": "grantId", "type": "uint256"},
        {"name": "tokenNonce", "type": "bytes32"},
        {"name": "nonce", "type": "bytes32"},
        {"name": "deadline", "type": "uint64"},
    ]
}
#: The token nonce a break-glass redemption signs (there is no token).
NO_TOKEN = b"\x00" * 32


def domain(chain_id: int, grants_contract: str) -> dict[str, Any]:
    """The EIP-712 domain of one Grants deployment."""
    return {
        "name": DOMAIN_NAME,
        "version": DOMAIN_VERSION,
        "chainId": chain_id,
        "verifyingContract": to_checksum_address(grants_contract),
    }


def access_grant_signable(
    *,
    chain_id: int,
    grants_contract: str,
    grant_id: bytes,
    case_id: bytes,
    grantee: str,
    scope_root: bytes,
    expiry: int,
    nonce: bytes,
) -> SignableMessage:
    message: dict[str, Any] = {
        "grantId": grant_id,
        "caseId": case_id,
        "grantee": grantee,
        "scopeRoot": scope_root,
        "expiry": expiry,
        "nonce": nonce,
    }
    return encode_typed_data(
        domain_data=domain(chain_id, grants_contract),
        message_types=ACCESS_GRANT_TYPES,
        message_data=message,
    )


def _u64(value: int, what: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value < 2**64:
        raise ValueError(f"{what} must be a 64-bit unsigned integer")
    return value


def _b32(value: bytes, what: str) -> bytes:
    if not isinstance(value, bytes) or len(value) != 32:
        raise ValueError(f"{what} must be 32 bytes")
    return value


def redemption_typed_data(
    *,
    chain_id: int,
    grants_contract: str,
    grant_id: int,
    token_nonce: bytes,
    nonce: bytes,
    deadline: int,
) -> dict[str, Any]:
    """The full EIP-712 document (JSON-able: bytes as 0x-hex) a physician signs.

    This is what a gateway hands out and what ``eth_signTypedData_v4`` or eth-account's
    ``encode_typed_data(full_message=...)`` takes as is.
    """
    if not isinstance(grant_id, int) or not 0 < grant_id < 2**256:
        raise ValueError("grant_id must be a positive uint256")
    return {
        "types": {"EIP712Domain": EIP712_DOMAIN_FIELDS, **REDEMPTION_TYPES},
        "primaryType": "Redemption",
        "domain": domain(chain_id, grants_contract),
        "message": {
            "grantId": grant_id,
            "tokenNonce": "0x" + _b32(token_nonce, "token_nonce").hex(),
            "nonce": "0x" + _b32(nonce, "nonce").hex(),
            "deadline": _u64(deadline, "deadline"),
        },
    }


def redemption_signable(**fields: Any) -> SignableMessage:
    """The signable form of :func:`redemption_typed_data` (same keyword arguments)."""
    return encode_typed_data(full_message=redemption_typed_data(**fields))


def digest(signable: SignableMessage) -> bytes:
    """keccak256(0x19 0x01 || domain separator || struct hash): what ecrecover sees."""
    return keccak(b"\x19" + signable.version + signable.header + signable.body)


def access_grant_digest(**fields: Any) -> bytes:
    return digest(access_grant_signable(**fields))


def redemption_digest(**fields: Any) -> bytes:
    return digest(redemption_signable(**fields))


def sign_redemption(key: SigningKey, **fields: Any) -> bytes:
    """The physician's 65-byte signature (r || s || v, v in {27, 28}) of one redemption."""
    return key.sign_message(redemption_signable(**fields))


def recover_signer(signable: SignableMessage, signature: bytes) -> str | None:
    """Who signed ``signable`` (checksummed), or None.

    The contract's rules apply (65 bytes, low s, v 27/28): what verifies here verifies on
    chain, and a malleable twin is refused here as it would be there.
    """
    if not isinstance(signature, bytes) or len(signature) != 65 or signature[64] not in (27, 28):
        return None
    r, s = int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:64], "big")
    if not 0 < r < SECP256K1_N or not 0 < s <= SECP256K1_N // 2:
        return None
    try:
        signer = str(Account.recover_message(signable, signature=signature))
    except Exception:  # eth-keys raises several types for a bad point; all mean "nobody"
        return None
    return to_checksum_address(signer) if is_address(signer) else None
