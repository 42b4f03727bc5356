"""The proof wire format and JSON form: round trips, and one error class per malformation."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest
from hypothesis import given
from hypothesis import strategies as st

from keys.typing import RecordId
from node.exceptions import (
    BadMagic,
    InvalidField,
    LengthLimitExceeded,
    MissingSection,
    ProofFormatError,
    ProofMismatch,
    TagOrderError,
    TrailingBytes,
    TruncatedProof,
    UnknownTag,
    UnsupportedProofVersion,
)
from node.proof.json_codec import loads_proof, proof_from_json, proof_to_json
from node.proof.merkle import ProofStep, Side
from node.proof.record import AnchorInfo, RecordProof
from node.proof.study_tree import StudyTree
from node.proof.wire_codec import MAGIC, MAX_PROOF_LEN, decode_proof, encode_proof
from node.typing import MerkleHash, PatientPseudonym, TxHash
from tests.node.strategies import record_proofs


@given(record_proofs())
def test_proof_round_trips_and_verifies_against_its_batch_root(
    case: tuple[RecordProof, bytes],
) -> None:
    proof, root = case
    wire = encode_proof(proof)
    assert decode_proof(wire) == proof
    assert encode_proof(decode_proof(wire)) == wire
    assert proof_from_json(json.loads(json.dumps(proof_to_json(proof)))) == proof
    decode_proof(wire).verify(root)


@given(record_proofs(), st.data())
def test_every_truncation_is_refused_as_truncated(
    case: tuple[RecordProof, bytes], data: st.DataObject
) -> None:
    wire = encode_proof(case[0])
    cut = data.draw(st.integers(0, len(wire) - 1))
    with pytest.raises(TruncatedProof):
        decode_proof(wire[:cut])


@given(record_proofs(), st.binary(min_size=1, max_size=40))
def test_any_extension_is_refused_as_trailing_bytes(
    case: tuple[RecordProof, bytes], extra: bytes
) -> None:
    with pytest.raises(TrailingBytes):
        decode_proof(encode_proof(case[0]) + extra)


@given(record_proofs(), st.data())
def test_any_single_bit_flip_is_refused_or_breaks_verification(
    case: tuple[RecordProof, bytes], data: st.DataObject
) -> None:
    proof, root = case
    wire = bytearray(encode_proof(proof))
    bit = data.draw(st.integers(0, len(wire) * 8 - 1))
    wire[bit // 8] ^= 1 << (bit % 8)
    try:
        mutated = decode_proof(bytes(wire))
    except ProofFormatError:
        return
    if mutated.anchor != proof.anchor and mutated.with_anchor(proof.anchor) == proof:  # type: ignore[arg-type]
        return  # the anchor section names where the root landed; it is checked on chain
    with pytest.raises(ProofMismatch):
        mutated.verify(root)


def _sample() -> bytes:
    tree = StudyTree("1.2.3", {"1.2.3.1": {"1.2.3.1.1": b"\x11" * 32, "1.2.3.1.2": b"\x22" * 32}})
    proof = RecordProof(
        record_id=RecordId(b"\x01" * 32),
        pseudonym=PatientPseudonym(b"\x02" * 32),
        content_hash=tree.root,
        salt=b"\x03" * 16,
        batch_path=(ProofStep(Side.LEFT, MerkleHash(b"\x04" * 32)),),
        anchor=AnchorInfo(TxHash(b"\x05" * 32), 7),
        instance=tree.instance_proof("1.2.3.1", "1.2.3.1.2"),
    )
    return encode_proof(proof)


def test_each_malformation_has_its_own_error_class() -> None:
    wire = _sample()
    body = wire[9:]
    with pytest.raises(BadMagic):
        decode_proof(b"\x89MLPROOX" + wire[8:])
    with pytest.raises(BadMagic):
        decode_proof(b"{}")
    with pytest.raises(UnsupportedProofVersion):
        decode_proof(MAGIC + b"\x02" + body)
    with pytest.raises(UnknownTag):
        decode_proof(MAGIC + b"\x01" + b"\x07\x00" + body)
    with pytest.raises(TagOrderError):  # BATCH_PATH before RECORD
        decode_proof(MAGIC + b"\x01" + b"\x02\x00" + body)
    with pytest.raises(MissingSection):
        decode_proof(MAGIC + b"\x01" + b"\x00")
    with pytest.raises(LengthLimitExceeded):
        decode_proof(MAGIC + b"\x01" + b"\x01\xff\xff\x03")
    with pytest.raises(LengthLimitExceeded):
        decode_proof(wire + b"\x00" * MAX_PROOF_LEN)
    with pytest.raises(InvalidField, match="non-minimal"):
        decode_proof(MAGIC + b"\x01" + b"\x01\xf0\x00" + b"\x00" * 112 + b"\x00")
    with pytest.raises(InvalidField, match="RECORD section"):
        decode_proof(MAGIC + b"\x01" + b"\x01\x01\x00\x02\x00\x00")
    with pytest.raises(InvalidField, match="33-byte"):
        decode_proof(MAGIC + b"\x01" + b"\x01\x70" + b"\x00" * 112 + b"\x02\x01\x00\x00")
    bad_side = MAGIC + b"\x01" + b"\x01\x70" + b"\x00" * 112 + b"\x02\x21\x02" + b"\x00" * 32
    with pytest.raises(InvalidField, match="side"):
        decode_proof(bad_side + b"\x00")


def test_json_form_refuses_unknown_keys_bad_hex_and_bad_sides() -> None:
    good = proof_to_json(decode_proof(_sample()))
    with pytest.raises(InvalidField, match="unknown keys"):
        proof_from_json({**good, "patient": "x"})
    with pytest.raises(MissingSection):
        proof_from_json({k: v for k, v in good.items() if k != "salt"})
    with pytest.raises(InvalidField, match="lowercase"):
        proof_from_json({**good, "salt": "AB" * 16})
    with pytest.raises(InvalidField, match="side"):
        proof_from_json({**good, "batch_path": [{"side": "up", "hash": "00" * 32}]})
    with pytest.raises(InvalidField, match="DICOM UID"):
        proof_from_json({**good, "dicom_instance": {**good["dicom_instance"], "sop_uid": "1..2"}})
    with pytest.raises(InvalidField, match="not valid JSON"):
        loads_proof("{")
    assert loads_proof(json.dumps(good)) == decode_proof(_sample())


def test_encoder_refuses_what_the_decoder_would_refuse() -> None:
    proof = decode_proof(_sample())
    assert proof.instance is not None
    steps = proof.instance.series_path * 64
    too_long = proof.with_instance(replace(proof.instance, series_path=steps[:64],
                                           study_path=steps[:64]))  # fmt: skip
    with pytest.raises(ValueError, match="exceeds"):
        encode_proof(too_long)
    with pytest.raises(ValueError, match="too long"):
        encode_proof(replace(proof, batch_path=(steps * 2)[:65]))
