"""Binary wire format of a :class:`~node.proof.record.RecordProof`.

Modelled on OpenTimestamps' ``serialize.py``: a magic, a version, then sections, each read
through a bounded reader that raises exactly one error class per failure (see
:mod:`node.exceptions`). The encoding is canonical (one byte string per proof), so
``encode(decode(b)) == b`` for every accepted ``b``; that is why unknown tags, repeated or
out-of-order sections, non-minimal varints and trailing bytes are all refused, not skipped.

Layout::

    MAGIC (8) | VERSION (1) | section* | END (0x00)
    section = tag (1) | varuint length | value

Tag registry (tags strictly increasing):

======  ================  ========  ====================================================
tag     section           required  value
======  ================  ========  ====================================================
0x01    RECORD            yes       record_id(32) pseudonym(32) content_hash(32) salt(16)
0x02    BATCH_PATH        yes       step* ; step = side(1: 0 left, 1 right) sibling(32)
0x03    ANCHOR            no        tx_hash(32) block_number(8, big-endian)
0x10    DICOM_INSTANCE    no        uid(study) uid(series) uid(sop) instance_hash(32)
                                    n(1) step*n (series path) m(1) step*m (study path);
                                    uid = length(1) ASCII(1..64)
======  ================  ========  ====================================================
"""

from __future__ import annotations

from keys.typing import RecordId
from node.exceptions import (
    BadMagic,
    InvalidField,
    LengthLimitExceeded,
    MissingSection,
    TagOrderError,
    UnknownTag,
    UnsupportedProofVersion,
)
from node.proof.merkle import HASH_LEN, MAX_PATH_STEPS, ProofStep, Side
from node.proof.record import AnchorInfo, RecordProof
from node.proof.study_tree import InstanceProof, encode_uid, is_valid_uid
from node.typing import ContentHash, MerkleHash, PatientPseudonym, TxHash
from node.wire import WireReader, encode_varuint

MAGIC = b"\x89MLPROOF"
VERSION = 1
TAG_END = 0x00
TAG_RECORD = 0x01
TAG_BATCH_PATH = 0x02
TAG_ANCHOR = 0x03
TAG_DICOM_INSTANCE = 0x10
KNOWN_TAGS = (TAG_RECORD, TAG_BATCH_PATH, TAG_ANCHOR, TAG_DICOM_INSTANCE)
STEP_LEN = 1 + HASH_LEN
RECORD_LEN = 32 + 32 + 32 + 16
ANCHOR_LEN = 32 + 8
#: No well-formed proof comes near this; bigger inputs are refused before parsing.
MAX_PROOF_LEN = 8192
MAX_SECTION_LEN = 4096


def _encode_steps(steps: tuple[ProofStep, ...]) -> bytes:
    return b"".join(bytes([step.side]) + step.sibling for step in steps)


def _read_steps(reader: WireReader, count: int) -> tuple[ProofStep, ...]:
    if count > MAX_PATH_STEPS:
        raise LengthLimitExceeded(f"{count} path steps exceed the limit {MAX_PATH_STEPS}")
    steps = []
    for _ in range(count):
        side = reader.u8()
        if side not in (Side.LEFT, Side.RIGHT):
            raise InvalidField(f"path step side must be 0 or 1, got {side}")
        steps.append(ProofStep(Side(side), MerkleHash(reader.read(HASH_LEN))))
    return tuple(steps)


def _read_uid(reader: WireReader) -> str:
    n = reader.u8()
    raw = reader.read(n)
    try:
        uid = raw.decode("ascii")
    except UnicodeDecodeError:
        raise InvalidField("a DICOM UID is ASCII") from None
    if not is_valid_uid(uid):
        raise InvalidField("malformed DICOM UID")
    return uid


def _encode_instance(inst: InstanceProof) -> bytes:
    if len(inst.series_path) > MAX_PATH_STEPS or len(inst.study_path) > MAX_PATH_STEPS:
        raise ValueError("path too long to encode")
    return b"".join(
        (
            encode_uid(inst.study_uid),
            encode_uid(inst.series_uid),
            encode_uid(inst.sop_uid),
            inst.instance_hash,
            bytes([len(inst.series_path)]),
            _encode_steps(inst.series_path),
            bytes([len(inst.study_path)]),
            _encode_steps(inst.study_path),
        )
    )


def _decode_instance(value: bytes) -> InstanceProof:
    r = WireReader(value)
    study, series, sop = _read_uid(r), _read_uid(r), _read_uid(r)
    instance_hash = ContentHash(r.read(HASH_LEN))
    series_path = _read_steps(r, r.u8())
    study_path = _read_steps(r, r.u8())
    r.assert_eof()
    return InstanceProof(study, series, sop, instance_hash, series_path, study_path)


def encode_proof(proof: RecordProof) -> bytes:
    """Serialize a proof (the inverse of :func:`decode_proof`).

    Raises ``ValueError`` for a proof the decoder would refuse (over a length limit), so
    nothing this node writes is unreadable.
    """
    if len(proof.batch_path) > MAX_PATH_STEPS:
        raise ValueError("batch path too long to encode")
    sections: list[tuple[int, bytes]] = [
        (TAG_RECORD, proof.record_id + proof.pseudonym + proof.content_hash + proof.salt),
        (TAG_BATCH_PATH, _encode_steps(proof.batch_path)),
    ]
    if proof.anchor is not None:
        block = proof.anchor.block_number.to_bytes(8, "big")
        sections.append((TAG_ANCHOR, proof.anchor.tx_hash + block))
    if proof.instance is not None:
        sections.append((TAG_DICOM_INSTANCE, _encode_instance(proof.instance)))
    if any(len(v) > MAX_SECTION_LEN for _, v in sections):
        raise ValueError(f"a proof section exceeds {MAX_SECTION_LEN} bytes")
    body = b"".join(bytes([tag]) + encode_varuint(len(v)) + v for tag, v in sections)
    out = MAGIC + bytes([VERSION]) + body + bytes([TAG_END])
    if len(out) > MAX_PROOF_LEN:
        raise ValueError(f"a proof exceeds {MAX_PROOF_LEN} bytes")
    return out


def decode_proof(data: bytes) -> RecordProof:
    """Parse a serialized proof, refusing anything not produced by :func:`encode_proof`.

    Raises
    ------
    ProofFormatError
        One subclass per failure: ``BadMagic``, ``UnsupportedProofVersion``,
        ``TruncatedProof``, ``TrailingBytes``, ``UnknownTag``, ``TagOrderError``,
        ``MissingSection``, ``LengthLimitExceeded``, ``InvalidField``.
    """
    if len(data) > MAX_PROOF_LEN:
        raise LengthLimitExceeded(f"a proof is at most {MAX_PROOF_LEN} bytes")
    head = data[: len(MAGIC)]
    if head != MAGIC[: len(head)]:
        raise BadMagic("not a medledger proof")
    r = WireReader(data)
    r.read(len(MAGIC))
    version = r.u8()
    if version != VERSION:
        raise UnsupportedProofVersion(f"proof version {version}; this node reads {VERSION}")
    values: dict[int, bytes] = {}
    last = -1
    while (tag := r.u8()) != TAG_END:
        if tag not in KNOWN_TAGS:
            raise UnknownTag(f"unknown section tag 0x{tag:02x}")
        if tag <= last:
            raise TagOrderError(f"section 0x{tag:02x} repeated or out of order")
        last = tag
        values[tag] = r.read(r.varuint(MAX_SECTION_LEN))
    r.assert_eof()
    for tag in (TAG_RECORD, TAG_BATCH_PATH):
        if tag not in values:
            raise MissingSection(f"required section 0x{tag:02x} is missing")
    rec = values[TAG_RECORD]
    if len(rec) != RECORD_LEN:
        raise InvalidField(f"RECORD section is {RECORD_LEN} bytes, got {len(rec)}")
    path = values[TAG_BATCH_PATH]
    if len(path) % STEP_LEN:
        raise InvalidField("BATCH_PATH is a whole number of 33-byte steps")
    path_reader = WireReader(path)
    batch_path = _read_steps(path_reader, len(path) // STEP_LEN)
    anchor = None
    if TAG_ANCHOR in values:
        raw = values[TAG_ANCHOR]
        if len(raw) != ANCHOR_LEN:
            raise InvalidField(f"ANCHOR section is {ANCHOR_LEN} bytes, got {len(raw)}")
        anchor = AnchorInfo(TxHash(raw[:32]), int.from_bytes(raw[32:], "big"))
    instance = None
    if TAG_DICOM_INSTANCE in values:
        instance = _decode_instance(values[TAG_DICOM_INSTANCE])
    return RecordProof(
        record_id=RecordId(rec[:32]),
        pseudonym=PatientPseudonym(rec[32:64]),
        content_hash=ContentHash(rec[64:96]),
        salt=rec[96:],
        batch_path=batch_path,
        anchor=anchor,
        instance=instance,
    )
