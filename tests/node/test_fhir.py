"""FHIR R4 ingest: validation, prescriptions, patient resolution, canonical bytes, refusals."""

from __future__ import annotations

import copy
import json
import random
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from contracts.typing import RecordKind
from node.exceptions import (
    InvalidFhir,
    PatientUnresolved,
    PayloadTooLarge,
    UnsupportedFhirResource,
)
from node.formats.fhir import parse_fhir
from node.formats.fhir_json import MAX_JSON_DEPTH, canonical_bytes, load_strict_json

PRESCRIPTION: dict[str, Any] = {
    "resourceType": "MedicationRequest",
    "id": "rx-1",
    "status": "active",
    "intent": "order",
    "medicationCodeableConcept": {
        "coding": [{"system": "http://www.nlm.nih.gov/research/umls/rxnorm", "code": "197361",
                    "display": "Amlodipine 5 MG Oral Tablet"}]
    },
    "subject": {"reference": "Patient/mrn-0042", "display": "Zhang Wei"},
    "authoredOn": "2026-11-20T09:30:00+08:00",
    "dosageInstruction": [{"text": "5 mg once daily", "timing": {"repeat": {"frequency": 1,
                           "period": 1, "periodUnit": "d"}}}],
}  # fmt: skip

BUNDLE: dict[str, Any] = {
    "resourceType": "Bundle",
    "type": "transaction",
    "entry": [
        {"fullUrl": "urn:uuid:7f1c6c1e-4a6b-4d8e-9c0b-1f2e3d4c5b6a",
         "resource": {"resourceType": "Patient", "id": "mrn-0042", "gender": "male",
                      "birthDate": "1961-03-14", "name": [{"family": "Zhang", "given": ["Wei"]}]},
         "request": {"method": "PUT", "url": "Patient/mrn-0042"}},
        {"resource": {"resourceType": "Observation", "status": "final",
                      "code": {"coding": [{"system": "http://loinc.org", "code": "8480-6"}]},
                      "subject": {"reference": "urn:uuid:7f1c6c1e-4a6b-4d8e-9c0b-1f2e3d4c5b6a"},
                      "valueQuantity": {"value": 152, "unit": "mm[Hg]"}},
         "request": {"method": "POST", "url": "Observation"}},
        {"resource": {"resourceType": "Condition",
                      "code": {"text": "Essential hypertension"},
                      "subject": {"reference": "Patient/mrn-0042"}},
         "request": {"method": "POST", "url": "Condition"}},
    ],
}  # fmt: skip


def _raw(doc: Any) -> bytes:
    return json.dumps(doc).encode()


def test_prescription_is_recognized_and_its_patient_found() -> None:
    payload = parse_fhir(_raw(PRESCRIPTION))
    assert payload.kind is RecordKind.PRESCRIPTION
    assert payload.resource_type == "MedicationRequest"
    assert payload.patient_id == "mrn-0042"
    assert "mrn-0042" not in repr(payload) and "Zhang" not in repr(payload)


def test_bundle_with_urn_references_resolves_one_patient_and_is_a_clinical_record() -> None:
    payload = parse_fhir(_raw(BUNDLE))
    assert payload.kind is RecordKind.RECORD and payload.resource_type == "Bundle"
    assert payload.patient_id == "mrn-0042"


def test_canonical_bytes_are_rfc8785_and_ignore_key_order_and_whitespace() -> None:
    reordered = json.dumps(dict(reversed(list(PRESCRIPTION.items()))), indent=4).encode()
    a, b = parse_fhir(_raw(PRESCRIPTION)), parse_fhir(reordered)
    assert a.canonical == b.canonical
    assert a.canonical.startswith(b'{"authoredOn":"2026-11-20T09:30:00+08:00","dosageInstruction"')
    assert b"\n" not in a.canonical and b'": ' not in a.canonical and b", " not in a.canonical
    assert json.loads(a.canonical) == PRESCRIPTION


def test_invalid_fhir_is_refused_naming_the_field_but_never_the_value() -> None:
    bad = copy.deepcopy(PRESCRIPTION)
    bad["authoredOn"] = "SECRET-not-a-date"
    with pytest.raises(InvalidFhir, match="authoredOn") as info:
        parse_fhir(_raw(bad))
    assert "SECRET" not in str(info.value)
    missing = {k: v for k, v in PRESCRIPTION.items() if k != "status"}
    with pytest.raises(InvalidFhir, match="status"):
        parse_fhir(_raw(missing))
    with pytest.raises(InvalidFhir, match="status is not in its required value set"):
        parse_fhir(_raw({**PRESCRIPTION, "status": "weird"}))
    with pytest.raises(InvalidFhir, match="intent"):
        parse_fhir(_raw({**PRESCRIPTION, "intent": "wish"}))
    with pytest.raises(InvalidFhir, match="bogus"):
        parse_fhir(_raw({**PRESCRIPTION, "bogus": 1}))


def test_unknown_resource_types_are_refused_at_top_level_and_inside_bundles() -> None:
    with pytest.raises(UnsupportedFhirResource, match="unknown FHIR resourceType") as refused:
        parse_fhir(_raw({"resourceType": "Prescription"}))
    assert "Prescription" not in str(refused.value)  # the value sent is never echoed
    bundle = copy.deepcopy(BUNDLE)
    bundle["entry"].append({"resource": {"resourceType": "Nope"}})
    with pytest.raises(UnsupportedFhirResource, match=r"entry\[3\]"):
        parse_fhir(_raw(bundle))
    bundle = copy.deepcopy(BUNDLE)
    bundle["entry"][1]["resource"]["status"] = None
    with pytest.raises(InvalidFhir, match=r"entry\[1\] \(Observation\)"):
        parse_fhir(_raw(bundle))


@pytest.mark.parametrize(
    ("raw", "error", "message"),
    [
        (b"", InvalidFhir, "not JSON"),
        (b'{"resourceType": "Patient"', InvalidFhir, "not JSON"),
        (b"\xff\xfe{}", InvalidFhir, "UTF-8"),
        (b'{"resourceType": "Patient", "resourceType": "Patient"}', InvalidFhir, "duplicate"),
        (b'{"resourceType": "Observation", "valueDecimal": NaN}', InvalidFhir, "NaN"),
        (b"[1, 2]", InvalidFhir, "JSON object"),
        (b'{"id": "x"}', InvalidFhir, "resourceType"),
        (b"[" * 100_000, InvalidFhir, "nested too deeply|not JSON"),
    ],
)
def test_malformed_json_is_refused_with_a_clear_message(
    raw: bytes, error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message):
        parse_fhir(raw)


def test_oversize_payload_is_refused_before_parsing() -> None:
    with pytest.raises(PayloadTooLarge, match="limit is 100"):
        parse_fhir(b" " * 101, max_bytes=100)


def test_patient_must_be_named_once_or_given_and_must_agree() -> None:
    anonymous = {k: v for k, v in PRESCRIPTION.items() if k != "subject"}
    anonymous["subject"] = {"reference": "Group/ward-3"}
    with pytest.raises(PatientUnresolved, match="names no Patient"):
        parse_fhir(_raw(anonymous))
    assert parse_fhir(_raw(anonymous), patient_id="mrn-7").patient_id == "mrn-7"
    with pytest.raises(PatientUnresolved, match="different patient"):
        parse_fhir(_raw(PRESCRIPTION), patient_id="mrn-7")
    mixed = copy.deepcopy(BUNDLE)
    mixed["entry"][2]["resource"]["subject"] = {"reference": "Patient/mrn-9999"}
    with pytest.raises(PatientUnresolved, match="2 different patients") as info:
        parse_fhir(_raw(mixed))
    assert "mrn" not in str(info.value)


def test_bundle_of_prescriptions_is_a_prescription_record() -> None:
    second = {**PRESCRIPTION, "id": "rx-2"}
    bundle = {"resourceType": "Bundle", "type": "collection",
              "entry": [{"resource": PRESCRIPTION}, {"resource": second}]}  # fmt: skip
    assert parse_fhir(_raw(bundle)).kind is RecordKind.PRESCRIPTION


json_scalars = st.one_of(st.none(), st.booleans(), st.integers(-(2**53) + 1, 2**53 - 1),
                         st.text(max_size=8))  # fmt: skip
json_values = st.recursive(
    json_scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4)
    ),
    max_leaves=12,
)


def _shuffled(value: Any, rnd: random.Random) -> Any:
    if isinstance(value, dict):
        items = list(value.items())
        rnd.shuffle(items)
        return {k: _shuffled(v, rnd) for k, v in items}
    if isinstance(value, list):
        return [_shuffled(v, rnd) for v in value]
    return value


@given(json_values, st.integers(0, 2**32), st.sampled_from([None, 0, 2]))
def test_canonical_bytes_do_not_depend_on_key_order_or_layout(
    value: Any, seed: int, indent: int | None
) -> None:
    other = json.dumps(
        _shuffled(value, random.Random(seed)), indent=indent, ensure_ascii=seed % 2 == 0
    )
    assert canonical_bytes(load_strict_json(other.encode())) == canonical_bytes(value)
    assert json.loads(canonical_bytes(value)) == value


def test_integers_beyond_the_json_safe_range_are_refused_not_rounded() -> None:
    obs = {"resourceType": "Observation", "status": "final", "code": {"text": "x"},
           "subject": {"reference": "Patient/p"}, "valueQuantity": {"value": 2**53}}  # fmt: skip
    with pytest.raises(InvalidFhir, match=r"cannot canonicalize: .*2\*\*53"):
        parse_fhir(_raw(obs))


def test_deep_nesting_is_refused_in_a_process_that_imported_py_evm() -> None:
    """py-evm's ``py_ecc`` raises the recursion limit to 100,000 on import; without our own
    depth check the JSON parser then overflows the C stack and kills the process."""
    import subprocess
    import sys

    code = (
        "import eth, sys\n"
        "assert sys.getrecursionlimit() >= 100_000\n"
        "from node.exceptions import InvalidFhir\n"
        "from node.formats.fhir_json import load_strict_json\n"
        "try:\n"
        "    load_strict_json(b'[' * 200_000 + b']' * 200_000)\n"
        "except InvalidFhir as exc:\n"
        "    print('refused:', exc)\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
    )
    assert proc.returncode == 0, proc.stderr
    assert "refused: JSON nested too deeply" in proc.stdout


def test_json_depth_and_duplicate_checks_hold_at_their_edges() -> None:
    shallow = b'{"a": [' + b",".join([b"[]"] * 300) + b"]}"  # many brackets, depth 3
    assert load_strict_json(shallow) == {"a": [[]] * 300}
    limit = MAX_JSON_DEPTH
    assert load_strict_json(b"[" * limit + b"]" * limit) is not None
    with pytest.raises(InvalidFhir, match="nested too deeply"):
        load_strict_json(b"[" * (limit + 1) + b"]" * (limit + 1))
    with pytest.raises(InvalidFhir, match="duplicate JSON key 'b'"):
        load_strict_json(b'{"a": {"b": 1, "c": 2, "b": 3}}')
