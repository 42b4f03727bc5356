"""Units of outbound pushes: destinations from the environment, the transaction Bundle."""

from __future__ import annotations

import json

import pytest
from fhir.resources.R4B.bundle import Bundle
from pydantic import ValidationError

from gateway.destinations import DicomDestination
from gateway.outbound import fhir
from gateway.settings import GatewaySettings
from tests.gateway.conftest import make_settings


def test_destinations_come_from_the_environment_as_json(monkeypatch: pytest.MonkeyPatch) -> None:
    pacs = {"pacs": {"ae_title": "ORTHANC", "host": "pacs.county.example", "port": 4242}}
    his = {"his": {"base_url": "https://his.county.example/fhir"}}
    monkeypatch.setenv("MEDLEDGER_GATEWAY_DICOM_DESTINATIONS", json.dumps(pacs))
    monkeypatch.setenv("MEDLEDGER_GATEWAY_FHIR_DESTINATIONS", json.dumps(his))
    settings = GatewaySettings(**make_settings().model_dump(
        exclude={"dicom_destinations", "fhir_destinations"}))  # fmt: skip
    assert settings.dicom_destinations["pacs"] == DicomDestination(**pacs["pacs"])
    assert settings.fhir_destinations["his"].base_url == his["his"]["base_url"]


@pytest.mark.parametrize(
    "bad",
    [{"ae_title": "", "host": "h", "port": 104}, {"ae_title": "A" * 17, "host": "h", "port": 104},
     {"ae_title": "BACK\\\\SLASH", "host": "h", "port": 104},
     {"ae_title": "OK", "host": "h", "port": 0}, {"ae_title": "OK", "host": "", "port": 104}],
)  # fmt: skip
def test_a_malformed_dicom_destination_is_refused_at_start(bad: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        make_settings(dicom_destinations={"pacs": bad})


def test_records_become_one_valid_transaction_bundle() -> None:
    patient = {"resourceType": "Patient", "id": "p1"}
    observation = {"resourceType": "Observation", "status": "final", "code": {"text": "Hb"},
                   "subject": {"reference": "Patient/p1"}}  # fmt: skip
    inner = {"resourceType": "Bundle", "type": "collection", "entry": [{"resource": observation}]}
    bundle = fhir.transaction([json.dumps(patient).encode(), json.dumps(inner).encode()])
    Bundle.model_validate(bundle)  # a valid R4 transaction Bundle
    assert [e["request"] for e in bundle["entry"]] == [
        {"method": "PUT", "url": "Patient/p1"},
        {"method": "POST", "url": "Observation"},
    ]
    assert bundle["entry"][1]["fullUrl"].startswith("urn:uuid:")
    assert [e["resource"] for e in bundle["entry"]] == [patient, observation]
