"""The Redemption typed data: what a gateway hands out is what eth-account and the contract sign.

The digests' equality with the contract's own views is tested in
``tests/contracts/test_redemption_signatures.py``; here, the signer rules (the contract's)
and the JSON document a wallet signs.
"""

from __future__ import annotations

import json

import pytest
from eth_account import Account
from eth_account.messages import encode_typed_data

from keys.signing import SECP256K1_N, SigningKey
from keys.typed_data import (
    NO_TOKEN,
    recover_signer,
    redemption_digest,
    redemption_signable,
    redemption_typed_data,
    sign_redemption,
)

FIELDS = {
    "chain_id": 4242,
    "grants_contract": "0x" + "ab" * 20,
    "grant_id": 7,
    "token_nonce": b"\x01" * 32,
    "nonce": b"\x02" * 32,
    "deadline": 1_900_000_000,
}


def test_the_json_document_signs_to_the_same_digest_as_the_fields() -> None:
    document = json.loads(json.dumps(redemption_typed_data(**FIELDS)))  # as sent over HTTP
    key = SigningKey.generate()
    by_wallet = Account.sign_message(encode_typed_data(full_message=document), key.secret_bytes())
    assert bytes(by_wallet.signature) == sign_redemption(key, **FIELDS)
    assert recover_signer(redemption_signable(**FIELDS), bytes(by_wallet.signature)) == key.address
    assert len(redemption_digest(**FIELDS)) == 32


@pytest.mark.parametrize("change", [{"nonce": b"\x03" * 32}, {"deadline": 1}, {"grant_id": 8},
                                    {"token_nonce": NO_TOKEN}, {"chain_id": 1}])  # fmt: skip
def test_a_signature_covers_every_field(change: dict[str, object]) -> None:
    key = SigningKey.generate()
    signature = sign_redemption(key, **FIELDS)
    assert recover_signer(redemption_signable(**{**FIELDS, **change}), signature) != key.address


def test_only_canonical_signatures_recover_anyone() -> None:
    key = SigningKey.generate()
    signable = redemption_signable(**FIELDS)
    sig = sign_redemption(key, **FIELDS)
    s = int.from_bytes(sig[32:64], "big")
    twin = sig[:32] + (SECP256K1_N - s).to_bytes(32, "big") + bytes([55 - sig[64]])
    for bad in (twin, sig[:64] + b"\x00", sig[:64], b"", b"\x00" * 65):
        assert recover_signer(signable, bad) is None
    assert recover_signer(signable, sig) == key.address


@pytest.mark.parametrize(
    "change",
    [{"grant_id": 0}, {"deadline": 2**64}, {"deadline": -1}, {"nonce": b"\x00"},
     {"token_nonce": "00" * 32}],
)  # fmt: skip
def test_bad_fields_are_refused_before_signing(change: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        redemption_typed_data(**{**FIELDS, **change})  # type: ignore[arg-type]
