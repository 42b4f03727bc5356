"""The FHIR decoders on generated input: only their own errors, never a crash or a 500.

Inputs are mutations of a valid Observation (hostile numbers, codes, shapes in its fields)
and arbitrary JSON-ish bytes. ``parse_fhir`` may accept or raise an ``IngestError``; any
other exception would be a 500 on the node's ingest routes.
"""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from node.exceptions import IngestError
from node.formats.fhir import parse_fhir
from node.formats.fhir_json import canonical_bytes, load_strict_json
from tests.fuzz.conftest import fuzz_settings

OBS: dict[str, Any] = {
    "resourceType": "Observation", "status": "final", "code": {"text": "pulse"},
    "subject": {"reference": "Patient/MRN-1"}, "valueQuantity": {"value": 71},
}  # fmt: skip
NUMBER_TEXT = st.one_of(
    st.integers().map(str),
    st.integers(min_value=0, max_value=6000).map(lambda n: "9" * max(n, 1)),
    st.sampled_from(["NaN", "Infinity", "-Infinity", "1e999", "-1e999", "1e-999", "-0",
                     "0.1e400", "123456789012345678901234567890", "1.5E+308"]),
    st.floats(allow_nan=False, allow_infinity=False).map(repr),
)  # fmt: skip
JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner,
                                                                max_size=4),
    max_leaves=20,
)  # fmt: skip
FIELDS = st.sampled_from(["status", "code", "subject", "valueQuantity", "resourceType", "id",
                          "effectiveDateTime", "issued", "component"])  # fmt: skip


def _decode(raw: bytes) -> None:
    try:
        parse_fhir(raw)
    except IngestError:
        pass


@fuzz_settings()
@given(NUMBER_TEXT)
def test_any_number_text_in_a_value_is_accepted_or_refused_as_invalid_fhir(text: str) -> None:
    _decode(json.dumps(OBS).replace("71", text).encode())


@fuzz_settings()
@given(FIELDS, JSON)
def test_any_value_in_any_field_is_accepted_or_refused_as_invalid_fhir(
    name: str, value: Any
) -> None:
    _decode(json.dumps({**OBS, name: value}).encode())
    entries = [{"resource": {**OBS, name: value}}, value]
    _decode(json.dumps({"resourceType": "Bundle", "type": "collection", "entry": entries}).encode())


@fuzz_settings()
@given(st.binary(max_size=200) | JSON.map(lambda v: json.dumps(v).encode()))
def test_arbitrary_bytes_are_accepted_or_refused_as_invalid_fhir(raw: bytes) -> None:
    _decode(raw)
    try:
        canonical_bytes(load_strict_json(raw))
    except IngestError:
        pass
