"""JSON form of a :class:`~node.proof.record.RecordProof`, for humans and web clients.

Hex strings are lowercase without ``0x``; unknown keys and malformed values are refused with
the same error classes as the binary format, so both forms are equally strict.
"""

from __future__ import annotations

import json
from typing import Any

from keys.typing import RecordId
from node.exceptions import InvalidField, LengthLimitExceeded, MissingSection
from node.proof.merkle import MAX_PATH_STEPS, ProofStep, Side
from node.proof.record import AnchorInfo, RecordProof
from node.proof.study_tree import InstanceProof, is_valid_uid
from node.proof.wire_codec import MAX_PROOF_LEN, VERSION
from node.typing import ContentHash, MerkleHash, PatientPseudonym, TxHash

_SIDES = {"left": Side.LEFT, "right": Side.RIGHT}
_TOP_KEYS = {"version", "record_id", "pseudonym", "content_hash", "salt", "batch_path"}
_OPTIONAL_KEYS = {"anchor", "dicom_instance"}


def _steps_to_json(steps: tuple[ProofStep, ...]) -> list[dict[str, str]]:
    return [{"side": s.side.name.lower(), "hash": s.sibling.hex()} for s in steps]


def proof_to_json(proof: RecordProof) -> dict[str, Any]:
    """The JSON-ready dict of a proof."""
    out: dict[str, Any] = {
        "version": VERSION,
        "record_id": proof.record_id.hex(),
        "pseudonym": proof.pseudonym.hex(),
        "content_hash": proof.content_hash.hex(),
        "salt": proof.salt.hex(),
        "batch_path": _steps_to_json(proof.batch_path),
    }
    if proof.anchor is not None:
        out["anchor"] = {
            "tx_hash": proof.anchor.tx_hash.hex(),
            "block_number": proof.anchor.block_number,
        }
    if proof.instance is not None:
        inst = proof.instance
        out["dicom_instance"] = {
            "study_uid": inst.study_uid,
            "series_uid": inst.series_uid,
            "sop_uid": inst.sop_uid,
            "instance_hash": inst.instance_hash.hex(),
            "series_path": _steps_to_json(inst.series_path),
            "study_path": _steps_to_json(inst.study_path),
        }
    return out


def _hex(obj: dict[str, Any], key: str, size: int) -> bytes:
    value = obj.get(key)
    if not isinstance(value, str) or len(value) != 2 * size:
        raise InvalidField(f"{key} must be {size} bytes of hex")
    try:
        raw = bytes.fromhex(value)
    except ValueError:
        raise InvalidField(f"{key} is not hex") from None
    if len(raw) != size or raw.hex() != value:  # fromhex skips spaces and takes upper case
        raise InvalidField(f"{key} must be lowercase hex without spaces")
    return raw


def _keys(obj: Any, required: set[str], optional: set[str], where: str) -> dict[str, Any]:
    if not isinstance(obj, dict):
        raise InvalidField(f"{where} must be an object")
    missing = required - obj.keys()
    if missing:
        raise MissingSection(f"{where} lacks {sorted(missing)}")
    extra = obj.keys() - required - optional
    if extra:
        raise InvalidField(f"{where} has unknown keys {sorted(extra)}")
    return obj


def _steps(value: Any, where: str) -> tuple[ProofStep, ...]:
    if not isinstance(value, list):
        raise InvalidField(f"{where} must be a list")
    if len(value) > MAX_PATH_STEPS:
        raise LengthLimitExceeded(f"{where} has more than {MAX_PATH_STEPS} steps")
    steps = []
    for item in value:
        step = _keys(item, {"side", "hash"}, set(), where)
        if not isinstance(step["side"], str) or step["side"] not in _SIDES:  # a list is unhashable
            raise InvalidField(f"{where} side must be 'left' or 'right'")
        steps.append(ProofStep(_SIDES[step["side"]], MerkleHash(_hex(step, "hash", 32))))
    return tuple(steps)


def _uid(obj: dict[str, Any], key: str) -> str:
    value = obj[key]
    if not isinstance(value, str) or not is_valid_uid(value):
        raise InvalidField(f"{key} is not a DICOM UID")
    return value


def proof_from_json(obj: Any) -> RecordProof:
    """Parse the dict form (see :func:`proof_to_json`), refusing anything else."""
    top = _keys(obj, _TOP_KEYS, _OPTIONAL_KEYS, "proof")
    if top["version"] != VERSION or isinstance(top["version"], bool):
        raise InvalidField(f"proof version must be {VERSION}")
    anchor = None
    if "anchor" in top:
        a = _keys(top["anchor"], {"tx_hash", "block_number"}, set(), "anchor")
        block = a["block_number"]
        if not isinstance(block, int) or isinstance(block, bool) or not 0 <= block < 2**64:
            raise InvalidField("anchor.block_number must be an unsigned 64-bit integer")
        anchor = AnchorInfo(TxHash(_hex(a, "tx_hash", 32)), block)
    instance = None
    if "dicom_instance" in top:
        keys = {"study_uid", "series_uid", "sop_uid", "instance_hash", "series_path"}
        d = _keys(top["dicom_instance"], keys | {"study_path"}, set(), "dicom_instance")
        instance = InstanceProof(
            study_uid=_uid(d, "study_uid"),
            series_uid=_uid(d, "series_uid"),
            sop_uid=_uid(d, "sop_uid"),
            instance_hash=ContentHash(_hex(d, "instance_hash", 32)),
            series_path=_steps(d["series_path"], "series_path"),
            study_path=_steps(d["study_path"], "study_path"),
        )
    return RecordProof(
        record_id=RecordId(_hex(top, "record_id", 32)),
        pseudonym=PatientPseudonym(_hex(top, "pseudonym", 32)),
        content_hash=ContentHash(_hex(top, "content_hash", 32)),
        salt=_hex(top, "salt", 16),
        batch_path=_steps(top["batch_path"], "batch_path"),
        anchor=anchor,
        instance=instance,
    )


def loads_proof(text: str | bytes) -> RecordProof:
    """Parse a JSON text; too-long input and invalid JSON are refused like bad fields."""
    if len(text) > 4 * MAX_PROOF_LEN:
        raise LengthLimitExceeded("proof JSON is too long")
    try:
        obj = json.loads(text)
    except (ValueError, RecursionError):
        raise InvalidField("proof is not valid JSON") from None
    return proof_from_json(obj)
