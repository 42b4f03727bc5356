"""HL7 v2 field mapping without a socket: timestamps, escapes, value types, tables, ERR text.

Cheap checks of :mod:`node.hl7.fields`, :mod:`node.hl7.results` and :mod:`node.hl7.ack` on
messages parsed by python-hl7 (the same parser the listener uses).
"""

from __future__ import annotations

import hl7
import pytest
from pydantic import ValidationError

from node.config import Hl7Settings
from node.hl7.ack import err_segment, reply
from node.hl7.errors import Hl7Error, Location
from node.hl7.fields import Seg, fhir_datetime
from node.hl7.listener import Hl7Listener
from node.hl7.patient import identifiers, patient_resource
from node.hl7.results import observation

MSH = "MSH|^~\\&|LAB|HOSP|ML|NODE|20260101||ORU^R01^ORU_R01|C1|P|2.5.1"


def _seg(segment: str, name: str) -> Seg:
    return Seg(hl7.parse(f"{MSH}\r{segment}"), name)


@pytest.mark.parametrize(
    ("ts", "expected"),
    [
        ("2026", "2026"),
        ("202611", "2026-11"),
        ("20261120", "2026-11-20"),
        ("202611200930", "2026-11-20"),  # a time without a zone keeps the date only
        ("20261120093015+0800", "2026-11-20T09:30:15+08:00"),
        ("202611200930-0500", "2026-11-20T09:30:00-05:00"),
        ("20261120093015.1234+0000", "2026-11-20T09:30:15+00:00"),
        ("", None),
    ],
)
def test_hl7_timestamps_become_fhir_datetimes(ts: str, expected: str | None) -> None:
    assert fhir_datetime(_seg(f"OBR|1||||||{ts}", "OBR"), 7) == expected


@pytest.mark.parametrize("ts", ["2026-11-20", "20261120T0930", "tomorrow", "2026112"])
def test_a_malformed_timestamp_is_a_data_type_error_naming_the_field(ts: str) -> None:
    with pytest.raises(Hl7Error) as caught:
        fhir_datetime(_seg(f"OBR|1||||||{ts}", "OBR"), 7)
    assert caught.value.code == "102" and caught.value.location == Location("OBR", 1, 7, 1)
    assert ts not in str(caught.value)


def test_escape_sequences_are_unescaped_in_values() -> None:
    pid = _seg("PID|||M1^^^A\\T\\B||O\\S\\BRIEN^ANN||19700101|F", "PID")
    assert identifiers(pid) == [("urn:hl7-v2:assigning-authority:A%26B", "M1")]
    assert patient_resource(pid)["name"] == [{"family": "O^BRIEN", "given": ["ANN"]}]


@pytest.mark.parametrize(
    ("obx", "value"),
    [
        ("OBX|1|NM|8867-4^HR^LN||72|/min^^UCUM|||||F",
         {"valueQuantity": {"value": 72, "unit": "/min", "code": "/min",
                            "system": "http://unitsofmeasure.org"}}),
        ("OBX|1|SN|1554-5^GLU^LN||>^200|mg/dL|||||F",
         {"valueQuantity": {"value": 200, "comparator": ">", "unit": "mg/dL"}}),
        ("OBX|1|ST|X^note||fasting sample||||||F", {"valueString": "fasting sample"}),
        ("OBX|1|CE|X^blood type||A+^A positive^L||||||F",
         {"valueCodeableConcept": {"coding": [{"code": "A+", "display": "A positive",
                                               "system": "urn:hl7-v2:coding-system:L"}],
                                   "text": "A positive"}}),
    ],
)  # fmt: skip
def test_obx_value_types_map_to_fhir_values(obx: str, value: dict[str, object]) -> None:
    resource = observation(_seg(obx, "OBX"), "Patient/p", None)
    assert {k: v for k, v in resource.items() if k.startswith("value")} == value
    assert resource["status"] == "final"


@pytest.mark.parametrize(
    ("obx", "field"),
    [
        ("OBX|1|NM|X^x||12abc||||||F", 5),
        ("OBX|1|SN|X^x||^1^-^5||||||F", 5),  # a range: refused rather than half-read
        ("OBX|1|ED|X^x||data||||||F", 2),
        ("OBX|1|NM|X^x||5||||||Q", 11),
        ("OBX|1|NM|||5||||||F", 3),
    ],
)
def test_bad_obx_fields_are_named(obx: str, field: int) -> None:
    with pytest.raises(Hl7Error) as caught:
        observation(_seg(obx, "OBX"), "Patient/p", None)
    assert caught.value.location is not None and caught.value.location.field == field


def test_a_nak_carries_msa_err_and_no_quoted_value() -> None:
    message = hl7.parse(f"{MSH}\rPID|||M1")
    error = Hl7Error("OBX-5: not a number | or ^ here", code="102",
                     location=Location("OBX", 2, 5))  # fmt: skip
    segments = reply(message, error).split("\r")
    assert segments[1] == "MSA|AE|C1"
    assert segments[2] == err_segment(error)
    fields = segments[2].split("|")
    assert fields[2] == "OBX^2^5" and fields[3] == "102^Data type error^HL70357"
    assert fields[4] == "E" and "\\F\\" in fields[8] and "\\S\\" in fields[8]
    assert reply(message).split("\r")[1] == "MSA|AA|C1"


def test_the_peer_allowlist_matches_cidrs_and_ipv4_mapped_peers() -> None:
    settings = Hl7Settings(allowed_peers=["10.1.0.0/16", "::1/128"])
    listener = Hl7Listener(lambda raw: raw, settings)
    assert listener.allowed("10.1.2.3") and listener.allowed("::ffff:10.1.2.3")
    assert listener.allowed("::1")
    for peer in ("10.2.0.1", "127.0.0.1", "::ffff:127.0.0.1", "not-an-address", ""):
        assert not listener.allowed(peer), peer
    with pytest.raises(ValidationError, match="allowed_peers"):
        Hl7Settings(allowed_peers=["10.1.0.0/16", "the interface engine"])
