"""Access tokens: EIP-712 signed grants, a strict wire format, one error per failure."""

from __future__ import annotations

import base64

import pytest
from eth_abi import encode as abi_encode
from eth_keys import keys as eth_keys
from eth_utils import keccak, to_checksum_address
from hypothesis import given
from hypothesis import strategies as st

from keys.exceptions import (
    BadSignature,
    MalformedToken,
    TokenError,
    TokenExpired,
    WrongChain,
    WrongContract,
    WrongGrantee,
    WrongIssuer,
)
from keys.signing import SECP256K1_N, SigningKey
from keys.token_wire import TOKEN_BYTES, TOKEN_CHARS, SignedToken
from keys.tokens import (
    ACCESS_GRANT_TYPE,
    DOMAIN_NAME,
    DOMAIN_VERSION,
    TokenIssuer,
    TokenVerifier,
    parse_token,
)

CHAIN = 31337
GRANTS = to_checksum_address("0x" + "5a" * 20)
ISSUER = SigningKey(bytes.fromhex("11" * 32))
GRANTEE = SigningKey(bytes.fromhex("22" * 32))
NOW = 1_800_000_000
EXPIRY = NOW + 3600


def issue(
    *, key: SigningKey = ISSUER, chain: int = CHAIN, contract: str = GRANTS, **overrides: object
) -> str:
    fields: dict[str, object] = {
        "grant_id": b"\x01" * 32,
        "case_id": b"\x02" * 32,
        "grantee": GRANTEE.address,
        "scope_root": b"\x03" * 32,
        "expiry": EXPIRY,
        "nonce": b"\x04" * 32,
    }
    fields.update(overrides)
    return TokenIssuer(key, chain_id=chain, grants_contract=contract).issue(**fields)  # type: ignore[arg-type]


def verifier(**kw: object) -> TokenVerifier:
    args: dict[str, object] = {"chain_id": CHAIN, "grants_contract": GRANTS}
    args["grantee"] = GRANTEE.address
    args.update(kw)
    return TokenVerifier(**args)  # type: ignore[arg-type]


TOKEN = issue()


def test_a_valid_token_verifies_offline_and_returns_its_claims() -> None:
    claims = verifier().verify_at_time(TOKEN, issuer=ISSUER.address, now=NOW)
    assert claims.issuer == ISSUER.address
    assert claims.grantee == GRANTEE.address
    assert (claims.grant_id, claims.case_id) == (b"\x01" * 32, b"\x02" * 32)
    assert (claims.scope_root, claims.nonce, claims.expiry) == (b"\x03" * 32, b"\x04" * 32, EXPIRY)
    assert (claims.chain_id, claims.grants_contract) == (CHAIN, GRANTS)
    assert len(TOKEN) == TOKEN_CHARS


def test_the_signature_is_over_the_eip712_digest_a_solidity_contract_computes() -> None:
    """Recompute the EIP-712 digest by hand (type hash, domain separator, struct hash)."""
    domain_type = (
        "EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)"
    )
    domain_sep = keccak(
        abi_encode(
            ["bytes32", "bytes32", "bytes32", "uint256", "address"],
            [
                keccak(text=domain_type),
                keccak(text=DOMAIN_NAME),
                keccak(text=DOMAIN_VERSION),
                CHAIN,
                GRANTS,
            ],
        )
    )
    struct_hash = keccak(
        abi_encode(
            ["bytes32", "bytes32", "bytes32", "address", "bytes32", "uint64", "bytes32"],
            [
                keccak(text=ACCESS_GRANT_TYPE),
                b"\x01" * 32,
                b"\x02" * 32,
                GRANTEE.address,
                b"\x03" * 32,
                EXPIRY,
                b"\x04" * 32,
            ],
        )
    )
    digest = keccak(b"\x19\x01" + domain_sep + struct_hash)
    sig = parse_token(TOKEN).signature
    vrs = sig[:64] + bytes([sig[64] - 27])
    signer = eth_keys.Signature(vrs).recover_public_key_from_msg_hash(digest)
    assert signer.to_checksum_address() == ISSUER.address


def test_a_token_signed_by_someone_else_is_the_wrong_issuer() -> None:
    forged = issue(key=SigningKey.generate())
    with pytest.raises(WrongIssuer):
        verifier().verify_at_time(forged, issuer=ISSUER.address, now=NOW)


def test_a_token_whose_claims_were_edited_after_signing_has_a_bad_signature() -> None:
    token = parse_token(TOKEN)
    raw = bytearray(token.to_bytes())
    raw[1 + 8 + 20 + 20 + 31] ^= 0xFF  # last byte of the grant id
    with pytest.raises(BadSignature):
        verifier().verify_at_time(
            SignedToken.from_bytes(bytes(raw)).encode(), issuer=ISSUER.address, now=NOW
        )


def test_a_token_presented_at_or_after_its_expiry_is_expired_per_the_injected_clock() -> None:
    v = verifier()
    assert v.verify_at_time(TOKEN, issuer=ISSUER.address, now=EXPIRY - 1)
    for now in (EXPIRY, EXPIRY + 1):
        with pytest.raises(TokenExpired):
            v.verify_at_time(TOKEN, issuer=ISSUER.address, now=now)
    clock = iter([EXPIRY - 10, EXPIRY + 10])
    ticking = verifier(clock=lambda: next(clock))
    assert ticking.verify(TOKEN, issuer=ISSUER.address)
    with pytest.raises(TokenExpired):
        ticking.verify(TOKEN, issuer=ISSUER.address)


def test_a_token_for_another_chain_is_wrong_chain() -> None:
    with pytest.raises(WrongChain):
        verifier().verify_at_time(issue(chain=CHAIN + 1), issuer=ISSUER.address, now=NOW)


def test_a_token_for_another_grants_contract_is_wrong_contract() -> None:
    other = to_checksum_address("0x" + "6b" * 20)
    with pytest.raises(WrongContract):
        verifier().verify_at_time(issue(contract=other), issuer=ISSUER.address, now=NOW)


def test_a_token_issued_to_another_hospital_is_wrong_grantee() -> None:
    other = SigningKey.generate().address
    with pytest.raises(WrongGrantee):
        verifier().verify_at_time(issue(grantee=other), issuer=ISSUER.address, now=NOW)


def test_the_malleable_high_s_twin_of_a_valid_signature_is_refused() -> None:
    token = parse_token(TOKEN)
    sig = token.signature
    s = int.from_bytes(sig[32:64], "big")
    twin = sig[:32] + (SECP256K1_N - s).to_bytes(32, "big") + bytes([55 - sig[64]])
    fields = {name: getattr(token, name) for name in SignedToken.__slots__}
    malleated = SignedToken(**{**fields, "signature": twin}).encode()
    with pytest.raises(BadSignature):
        verifier().verify_at_time(malleated, issuer=ISSUER.address, now=NOW)


@pytest.mark.parametrize("v", [0, 1, 26, 29, 255])
def test_recovery_ids_other_than_27_and_28_are_refused(v: int) -> None:
    raw = bytearray(parse_token(TOKEN).to_bytes())
    raw[-1] = v
    with pytest.raises(BadSignature):
        verifier().verify_at_time(
            SignedToken.from_bytes(bytes(raw)).encode(), issuer=ISSUER.address, now=NOW
        )


@pytest.mark.parametrize(
    "bad",
    [
        "",
        TOKEN[:-1],
        TOKEN + "A",
        TOKEN + "AAAA",  # trailing bytes
        TOKEN + "=",
        TOKEN[:-2] + "==",
        TOKEN[:-1] + "+",  # not base64url
        TOKEN[:-1] + "é",
        "A" * 10_000,  # oversize
        base64.urlsafe_b64encode(b"\x02" + parse_token(TOKEN).to_bytes()[1:]).decode(),
        base64.urlsafe_b64encode(b"\x00" * TOKEN_BYTES).decode(),
    ],
    ids=lambda s: f"len{len(s)}",
)
def test_malformed_tokens_are_rejected_before_any_signature_work(bad: str) -> None:
    with pytest.raises(MalformedToken):
        verifier().verify_at_time(bad, issuer=ISSUER.address, now=NOW)


tokens_fields = st.builds(
    SignedToken,
    chain_id=st.integers(0, 2**64 - 1),
    grants_contract=st.binary(min_size=20, max_size=20).map(to_checksum_address),
    issuer=st.binary(min_size=20, max_size=20).map(to_checksum_address),
    grant_id=st.binary(min_size=32, max_size=32),
    case_id=st.binary(min_size=32, max_size=32),
    grantee=st.binary(min_size=20, max_size=20).map(to_checksum_address),
    scope_root=st.binary(min_size=32, max_size=32),
    expiry=st.integers(0, 2**64 - 1),
    nonce=st.binary(min_size=32, max_size=32),
    signature=st.binary(min_size=65, max_size=65),
)


@given(tokens_fields)
def test_wire_format_round_trips_every_field(token: SignedToken) -> None:
    text = token.encode()
    assert len(text) == TOKEN_CHARS
    assert SignedToken.decode(text) == token
    assert SignedToken.from_bytes(token.to_bytes()) == token


@given(position=st.integers(0, TOKEN_BYTES - 1), delta=st.integers(1, 255))
def test_any_single_byte_change_of_the_binary_token_is_rejected(position: int, delta: int) -> None:
    raw = bytearray(parse_token(TOKEN).to_bytes())
    raw[position] = (raw[position] + delta) % 256
    mutated = base64.urlsafe_b64encode(bytes(raw)).rstrip(b"=").decode()
    with pytest.raises(TokenError):
        verifier().verify_at_time(mutated, issuer=ISSUER.address, now=NOW)


@given(position=st.integers(0, TOKEN_CHARS - 1), char=st.integers(0, 255))
def test_any_single_character_change_of_the_text_token_is_rejected(
    position: int, char: int
) -> None:
    original = TOKEN.encode("latin-1")
    if original[position] == char:
        char = (char + 1) % 256
    mutated = (original[:position] + bytes([char]) + original[position + 1 :]).decode("latin-1")
    with pytest.raises(TokenError):
        verifier().verify_at_time(mutated, issuer=ISSUER.address, now=NOW)


def test_issuing_validates_its_inputs() -> None:
    with pytest.raises(ValueError):
        issue(grant_id=b"short")
    with pytest.raises(ValueError):
        issue(grantee="not an address")
    with pytest.raises(ValueError):
        issue(expiry=0)
    with pytest.raises(ValueError):
        TokenIssuer(ISSUER, chain_id=0, grants_contract=GRANTS)
    assert parse_token(issue(nonce=None)).nonce != parse_token(issue(nonce=None)).nonce
