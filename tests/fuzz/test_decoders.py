"""The node's and keys' binary/JSON decoders on generated input: only their declared errors.

Targets: the proof wire codec (``ProofFormatError``), the proof JSON codec (same), the DICOM
archive reader and the DICOM instance parser (``IngestError``: ``InvalidDicom`` and its
kin, ``PayloadTooLarge``), the access-token wire decoder (``MalformedToken``) and the
token verifier (``TokenError``). Inputs are mutations of valid encodings (bit flips,
truncations, insertions, rewritten fields) plus arbitrary bytes; any other exception would
be a 500 on a node or gateway route. Each crash found is kept as an ``@example``.
"""

from __future__ import annotations

import io
import json
import re
import struct
import tempfile
import zipfile
from pathlib import Path
from typing import Any

from hypothesis import example, given
from hypothesis import strategies as st

from keys.exceptions import MalformedToken, TokenError
from keys.signing import SigningKey
from keys.token_wire import TOKEN_BYTES, SignedToken
from keys.tokens import TokenIssuer, TokenVerifier, parse_token
from keys.typing import RecordId
from node.exceptions import IngestError, ProofFormatError
from node.formats.dicom import read_instance
from node.formats.dicom_archive import DicomLimits, study_files
from node.proof.json_codec import loads_proof, proof_from_json, proof_to_json
from node.proof.merkle import ProofStep, Side
from node.proof.record import RecordProof
from node.proof.wire_codec import MAGIC, VERSION, decode_proof, encode_proof
from node.typing import ContentHash, MerkleHash, PatientPseudonym
from tests.fuzz.conftest import fuzz_settings
from tests.node.dicom_samples import sample_bytes
from tests.node.strategies import record_proofs

# -- mutations --------------------------------------------------------------------------


@st.composite
def mutated(draw: st.DrawFn, base: bytes) -> bytes:
    """``base`` with a few flips, cuts, insertions or overwritten runs."""
    data = bytearray(base)
    for _ in range(draw(st.integers(1, 4))):
        kind = draw(st.sampled_from(["flip", "cut", "insert", "overwrite"]))
        pos = draw(st.integers(0, max(len(data) - 1, 0)))
        if kind == "flip" and data:
            data[pos] ^= 1 << draw(st.integers(0, 7))
        elif kind == "cut":
            del data[pos:]
        elif kind == "insert":
            data[pos:pos] = draw(st.binary(min_size=1, max_size=16))
        elif data:
            run = draw(st.binary(min_size=1, max_size=8))
            data[pos : pos + len(run)] = run
    return bytes(data)


# -- proofs -----------------------------------------------------------------------------


def _decode_wire(data: bytes) -> None:
    try:
        proof = decode_proof(data)
    except ProofFormatError:
        return
    assert encode_proof(proof) == data  # accepted means canonical


@fuzz_settings()
@given(record_proofs().flatmap(lambda pr: mutated(encode_proof(pr[0]))))
def test_proof_wire_decoder_refuses_mutations_with_its_own_errors(data: bytes) -> None:
    _decode_wire(data)


@fuzz_settings()
@given(st.binary(max_size=300).map(lambda b: MAGIC + bytes([VERSION]) + b))
def test_proof_wire_decoder_refuses_arbitrary_sections_with_its_own_errors(data: bytes) -> None:
    _decode_wire(data)


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=70),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner,
                                                                max_size=4),
    max_leaves=12,
)  # fmt: skip
PROOF_KEYS = ["version", "record_id", "pseudonym", "content_hash", "salt", "batch_path",
              "anchor", "dicom_instance", "side", "hash", "tx_hash", "block_number",
              "study_uid", "series_uid", "sop_uid", "instance_hash", "series_path",
              "study_path", "extra"]  # fmt: skip


def _replace_somewhere(obj: Any, key: str, value: Any, choice: int) -> Any:
    """``obj`` with the ``choice``-th occurrence (mod count) of ``key`` set to ``value``."""
    spots: list[dict[str, Any]] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            spots.append(node)
            for v in node.values():
                walk(v)
        elif isinstance(node, list):
            for v in node:
                walk(v)

    walk(obj)
    spots[choice % len(spots)][key] = value
    return obj


#: A proof with one batch step: ``choice=1`` is that step's object.
ONE_STEP = (RecordProof(RecordId(b"\x01" * 32), PatientPseudonym(b"\x02" * 32),
                        ContentHash(b"\x03" * 32), b"\x04" * 16,
                        (ProofStep(Side.LEFT, MerkleHash(b"\x05" * 32)),)), b"")  # fmt: skip


@fuzz_settings()
@given(record_proofs(), st.sampled_from(PROOF_KEYS), JSON, st.integers(0, 50))
@example(ONE_STEP, "side", [], 1)  # TypeError: unhashable type: 'list' (side looked up in a dict)
@example(ONE_STEP, "side", {}, 1)
def test_proof_json_decoder_refuses_any_field_value_with_its_own_errors(
    pr: Any, key: str, value: Any, choice: int
) -> None:
    obj = json.loads(json.dumps(proof_to_json(pr[0])))
    obj = _replace_somewhere(obj, key, value, choice)
    try:
        proof_from_json(obj)
    except ProofFormatError:
        pass


@fuzz_settings()
@given(record_proofs().flatmap(lambda pr: mutated(json.dumps(proof_to_json(pr[0])).encode())))
def test_proof_json_text_decoder_refuses_mutated_text_with_its_own_errors(text: bytes) -> None:
    try:
        loads_proof(text)
    except ProofFormatError:
        pass


# -- DICOM: the instance parser -----------------------------------------------------------

MR = sample_bytes("MR_small.dcm")  # explicit VR little endian, with pixel data
_LONG_VRS = {b"OB", b"OD", b"OF", b"OL", b"OV", b"OW", b"SQ", b"SV", b"UC", b"UN", b"UR",
             b"UT", b"UV"}  # fmt: skip
#: Offsets of the VR of every explicit-VR element header in the sample's data set (a tag of
#: an even group, then two upper-case letters), found once by pattern.
VR_AT = [m.start() + 4 for m in re.finditer(rb"[\x02-\x7f\xe0][\x00\x7f][\x00-\xff]{2}[A-Z]{2}", MR)
         if m.start() >= 132]  # fmt: skip


def _read(data: bytes) -> None:
    try:
        read_instance(data, name="fuzz.dcm")
    except IngestError:
        pass


@fuzz_settings()
@given(st.sampled_from(VR_AT), st.binary(min_size=2, max_size=2))
@example(VR_AT[0], b"ZZ")  # NotImplementedError: Unknown Value Representation 'ZZ'
@example(VR_AT[1], b"TI")
def test_an_unknown_vr_anywhere_is_refused_as_invalid_dicom(at: int, vr: bytes) -> None:
    _read(MR[:at] + vr + MR[at + 2 :])


@fuzz_settings()
@given(st.sampled_from(VR_AT), st.integers(0, 2**32 - 1))
@example(VR_AT[-1], 0xFFFFFFF0)
def test_a_huge_or_lying_length_field_is_refused_as_invalid_dicom(at: int, length: int) -> None:
    vr = MR[at : at + 2]
    if vr in _LONG_VRS:
        data = MR[: at + 4] + struct.pack("<I", length) + MR[at + 8 :]
    else:
        data = MR[: at + 2] + struct.pack("<H", length & 0xFFFF) + MR[at + 4 :]
    _read(data)


@fuzz_settings()
@given(st.integers(0, len(MR) - 1))
def test_a_truncated_file_is_refused_as_invalid_dicom(cut: int) -> None:
    _read(MR[:cut])


@fuzz_settings()
@given(mutated(MR))
def test_a_mutated_file_is_accepted_or_refused_as_invalid_dicom(data: bytes) -> None:
    _read(data)


# -- DICOM: the archive reader ------------------------------------------------------------


def _zip(members: dict[str, bytes], method: int = zipfile.ZIP_DEFLATED) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=method) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return out.getvalue()


ZIP = _zip({"a.dcm": MR, "b/readme.txt": b"not dicom " * 20})


def _set_method(archive: bytes, method: int) -> bytes:
    """Rewrite every member's compression method (local and central headers)."""
    data = bytearray(archive)
    for sig, offset in ((b"PK\x03\x04", 8), (b"PK\x01\x02", 10)):
        for m in re.finditer(re.escape(sig), bytes(data)):
            data[m.start() + offset : m.start() + offset + 2] = struct.pack("<H", method)
    return bytes(data)


def _read_archive(data: bytes) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp, "study.zip")
        path.write_bytes(data)
        try:
            for _name, _data in study_files(path, limits=DicomLimits(max_compression_ratio=10**6)):
                pass
        except IngestError:
            pass


@fuzz_settings()
@given(st.integers(0, 0xFFFF))
@example(99)  # AE-x: NotImplementedError("That compression method is not supported")
@example(zipfile.ZIP_LZMA)
@example(zipfile.ZIP_BZIP2)
def test_any_compression_method_is_read_or_refused_as_invalid_dicom(method: int) -> None:
    _read_archive(_set_method(ZIP, method))


def _corrupt_deflate(archive: bytes) -> bytes:
    """The first member's deflate stream overwritten in its middle (a ``zlib.error``)."""
    name_len, extra_len = struct.unpack("<HH", archive[26:30])
    start = 30 + name_len + extra_len + 40
    return archive[:start] + b"\xff" * 12 + archive[start + 12 :]


@fuzz_settings()
@given(mutated(ZIP))
@example(_corrupt_deflate(ZIP))  # zlib.error: invalid literal/length code
def test_a_mutated_archive_is_read_or_refused_as_invalid_dicom(data: bytes) -> None:
    _read_archive(data)


# -- access tokens ------------------------------------------------------------------------

CHAIN = 31337
GRANTS = "0x" + "5a" * 20
GRANTOR = SigningKey(bytes.fromhex("11" * 32))
GRANTEE = SigningKey(bytes.fromhex("22" * 32))
TOKEN = TokenIssuer(GRANTOR, chain_id=CHAIN, grants_contract=GRANTS).issue(
    grant_id=b"\x01" * 32, case_id=b"\x02" * 32, grantee=GRANTEE.address,
    scope_root=b"\x03" * 32, expiry=2**40,
)  # fmt: skip
VERIFIER = TokenVerifier(chain_id=CHAIN, grants_contract=GRANTS, grantee=GRANTEE.address)


@fuzz_settings()
@given(st.one_of(mutated(TOKEN.encode()).map(lambda b: b.decode("latin-1")),
                 st.text(max_size=400), st.binary(max_size=400)))  # fmt: skip
def test_the_token_decoder_refuses_any_text_or_bytes_as_malformed(token: str | bytes) -> None:
    try:
        SignedToken.decode(token)
    except MalformedToken:
        pass
    if isinstance(token, str):
        try:
            parse_token(token)
        except MalformedToken:
            pass


@fuzz_settings()
@given(mutated(SignedToken.decode(TOKEN).to_bytes()))
def test_the_verifier_refuses_any_edited_binary_token_with_a_token_error(raw: bytes) -> None:
    try:
        SignedToken.from_bytes(raw)
    except MalformedToken:
        return
    assert len(raw) == TOKEN_BYTES
    text = SignedToken.from_bytes(raw).encode()
    try:
        VERIFIER.verify_at_time(text, issuer=GRANTOR.address, now=1)
    except TokenError:
        assert raw != SignedToken.decode(TOKEN).to_bytes()
