"""Grant deliveries: the grantor's EIP-712 ``GrantDelivery`` binds package CID and token."""

from __future__ import annotations

import dataclasses

import pytest
from eth_abi import encode as abi_encode
from eth_keys import keys as eth_keys
from eth_utils import keccak, to_checksum_address

from keys.delivery import GRANT_DELIVERY_TYPE, GrantDelivery, delivery_signer, token_hash
from keys.exceptions import BadSignature, MalformedToken
from keys.signing import SECP256K1_N, SigningKey
from keys.token_wire import SignedToken
from keys.tokens import TokenIssuer, TokenVerifier
from keys.typed_data import DOMAIN_NAME, DOMAIN_VERSION

CHAIN = 31337
GRANTS = to_checksum_address("0x" + "5a" * 20)
GRANTOR = SigningKey(bytes.fromhex("11" * 32))
GRANTEE = SigningKey(bytes.fromhex("22" * 32))
CID = "bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy"
ISSUER = TokenIssuer(GRANTOR, chain_id=CHAIN, grants_contract=GRANTS)
VERIFIER = TokenVerifier(chain_id=CHAIN, grants_contract=GRANTS, grantee=GRANTEE.address)
TOKEN = ISSUER.issue(
    grant_id=(7).to_bytes(32, "big"),
    case_id=b"\x02" * 32,
    grantee=GRANTEE.address,
    scope_root=b"\x03" * 32,
    expiry=2_000_000_000,
)
DELIVERY = GrantDelivery.of(token=TOKEN, package_cid=CID, issued_at=1_800_000_000)
SIG = ISSUER.sign_delivery(DELIVERY)


def test_the_grantor_signs_and_the_grantee_recovers_the_grantor() -> None:
    assert VERIFIER.delivery_signer(DELIVERY, SIG) == GRANTOR.address
    assert DELIVERY.grant_id == (7).to_bytes(32, "big")
    assert DELIVERY.token_hash == keccak(SignedToken.decode(TOKEN).to_bytes()) == token_hash(TOKEN)


def test_the_signature_is_over_the_eip712_digest_a_solidity_contract_computes() -> None:
    """Recompute the digest by hand: string fields are hashed, the domain is the token's."""
    domain_type = (
        "EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)"
    )
    domain_sep = keccak(abi_encode(
        ["bytes32", "bytes32", "bytes32", "uint256", "address"],
        [keccak(text=domain_type), keccak(text=DOMAIN_NAME), keccak(text=DOMAIN_VERSION),
         CHAIN, GRANTS],
    ))  # fmt: skip
    struct_hash = keccak(abi_encode(
        ["bytes32", "bytes32", "bytes32", "bytes32", "uint64"],
        [keccak(text=GRANT_DELIVERY_TYPE), DELIVERY.grant_id, keccak(text=CID),
         DELIVERY.token_hash, DELIVERY.issued_at],
    ))  # fmt: skip
    digest = keccak(b"\x19\x01" + domain_sep + struct_hash)
    vrs = SIG[:64] + bytes([SIG[64] - 27])
    signer = eth_keys.Signature(vrs).recover_public_key_from_msg_hash(digest)
    assert signer.to_checksum_address() == GRANTOR.address


@pytest.mark.parametrize("change", [
    {"package_cid": CID[:-1] + "a"}, {"issued_at": 1_800_000_001},
    {"token_hash": b"\x00" * 32}, {"grant_id": (8).to_bytes(32, "big")},
])  # fmt: skip
def test_changing_any_signed_field_changes_the_recovered_signer(change: dict[str, object]) -> None:
    other = dataclasses.replace(DELIVERY, **change)  # type: ignore[arg-type]
    assert VERIFIER.delivery_signer(other, SIG) != GRANTOR.address


def test_a_signature_for_another_chain_or_contract_recovers_someone_else() -> None:
    for chain, contract in ((CHAIN + 1, GRANTS), (CHAIN, to_checksum_address("0x" + "5b" * 20))):
        signer = delivery_signer(DELIVERY, SIG, chain_id=chain, grants_contract=contract)
        assert signer != GRANTOR.address


def test_malformed_and_malleable_signatures_are_refused() -> None:
    r, s = int.from_bytes(SIG[:32], "big"), int.from_bytes(SIG[32:64], "big")
    high_s = SIG[:32] + (SECP256K1_N - s).to_bytes(32, "big") + bytes([55 - SIG[64]])
    for bad in (b"", SIG[:64], SIG + b"\x00", SIG[:64] + b"\x01", high_s,
                (0).to_bytes(32, "big") + SIG[32:], b"\xff" * 65):  # fmt: skip
        with pytest.raises(BadSignature):
            VERIFIER.delivery_signer(DELIVERY, bad)
    assert r > 0


def test_bad_fields_are_value_errors_and_a_bad_token_is_malformed() -> None:
    with pytest.raises(MalformedToken):
        GrantDelivery.of(token="not-a-token", package_cid=CID, issued_at=1)
    bad: list[dict[str, object]] = [
        {"issued_at": 0}, {"issued_at": 2**64}, {"issued_at": True},
        {"package_cid": ""}, {"package_cid": "b" * 201}, {"grant_id": b"x"},
    ]  # fmt: skip
    for change in bad:
        with pytest.raises(ValueError):
            dataclasses.replace(DELIVERY, **change)  # type: ignore[arg-type]
