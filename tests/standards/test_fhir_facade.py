"""The node's FHIR R4 facade over real HTTP (uvicorn on loopback) with real FHIR clients.

``fhirclient`` (SMART on FHIR's Python client) reads ``/metadata`` with its own R4 models
and creates resources; the Bundles are written from the FHIR R4 examples
(``tests/standards/fhir/``). The node has no chain here (``tests/node/case_app.py``): records
are sealed, stored and queued, and read back decrypted; anchoring is covered by
``test_fhir_hl7_anchored.py``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fhir.resources.R4B.bundle import Bundle as R4BBundle
from fhir.resources.R4B.capabilitystatement import CapabilityStatement as R4BCapability
from fhirclient import client as fhir_client
from fhirclient.models.bundle import Bundle as FcBundle
from fhirclient.models.observation import Observation as FcObservation
from fhirclient.models.patient import Patient as FcPatient

from tests.gateway.server import serve
from tests.node.case_app import AUTH, case_app
from tests.node.test_case_api import TOKEN

FIXTURES = Path(__file__).parent / "fhir"
FHIR = {"Content-Type": "application/fhir+json", **AUTH}


def fixture(name: str) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads((FIXTURES / name).read_text())
    return doc


class Facade:
    def __init__(self, url: str, app: Any) -> None:
        self.url = url
        self.base = f"{url}/fhir"
        self.app = app
        self.http = httpx.Client(base_url=self.base, headers=FHIR, timeout=30)

    def records(self) -> int:
        return len(self.app.state.node.outbox().record_ids())


@pytest.fixture(scope="module")
def facade(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Facade]:
    tmp = tmp_path_factory.mktemp("fhir-facade")
    with case_app(tmp, max_fhir_bytes=64 * 1024) as app, serve(app) as url:
        f = Facade(url, app)
        yield f
        f.http.close()


def _issue(body: dict[str, Any]) -> dict[str, Any]:
    assert body["resourceType"] == "OperationOutcome"
    (issue,) = body["issue"]
    assert issue["severity"] == "error" and issue["diagnostics"]
    return issue  # type: ignore[no-any-return]


def test_fhirclient_reads_the_capability_statement(facade: Facade) -> None:
    smart = fhir_client.FHIRClient(settings={"app_id": "his", "api_base": facade.base})
    conf = smart.server.capabilityStatement  # parsed by fhirclient's own R4 models
    assert conf.fhirVersion == "4.0.1" and conf.kind == "instance"
    rest = conf.rest[0]
    assert {i.code for i in rest.interaction} == {"transaction", "batch"}
    by_type = {r.type: {i.code for i in r.interaction} for r in rest.resource}
    assert by_type["Patient"] >= {"create", "update", "read"}
    assert "Observation" in by_type and "MedicationRequest" in by_type
    raw = httpx.get(f"{facade.base}/metadata")
    assert raw.headers["content-type"].startswith("application/fhir+json")
    R4BCapability.model_validate(raw.json())  # and by fhir.resources' models


def test_fhirclient_creates_and_reads_back_with_the_bearer_token(facade: Facade) -> None:
    smart = fhir_client.FHIRClient(settings={"app_id": "his", "api_base": facade.base})
    smart.server.session.headers["Authorization"] = f"Bearer {TOKEN}"
    patient = FcPatient({"resourceType": "Patient", "gender": "female",
                         "name": [{"family": "Client", "given": ["Fhir"]}],
                         "identifier": [{"system": "urn:mrn", "value": "FC-1"}]})  # fmt: skip
    created = patient.create(smart.server)
    pid = created["id"]
    obs = FcObservation({"resourceType": "Observation", "status": "final",
                         "code": {"text": "pulse"}, "subject": {"reference": f"Patient/{pid}"},
                         "valueQuantity": {"value": 72}})  # fmt: skip
    made = obs.create(smart.server)
    read_back = FcObservation.read(made["id"], smart.server)
    assert read_back.subject.reference == f"Patient/{pid}"
    assert read_back.valueQuantity.value == 72
    # plain HTTP: 201, Location of version 1
    resp = facade.http.post("/Observation", json={**made, "id": None} | {"valueQuantity":
                            {"value": 73}})  # fmt: skip
    assert resp.status_code == 201, resp.text
    rid = resp.json()["id"]
    assert resp.headers["location"] == f"{facade.base}/Observation/{rid}/_history/1"
    record = resp.headers["x-medledger-record-id"]
    status = httpx.get(f"{facade.url}/records/{record}", headers=AUTH).json()
    assert status["state"] == "pending" and status["kind"] == "fhir"  # no chain in this app


def test_fhirclient_posts_a_transaction_bundle(facade: Facade) -> None:
    smart = fhir_client.FHIRClient(settings={"app_id": "his", "api_base": facade.base})
    smart.server.session.headers["Authorization"] = f"Bearer {TOKEN}"
    doc = fixture("transaction-patient-observation.json")
    del doc["id"]  # fhirclient creates only resources without an id
    bundle = FcBundle(doc)
    response = FcBundle(bundle.create(smart.server))  # posted to the base URL
    assert response.type == "transaction-response"
    assert [e.response.status for e in response.entry] == ["201 Created", "201 Created"]
    pid = response.entry[0].response.location.split("/")[1]
    oid = response.entry[1].response.location.split("/")[1]
    read_back = FcObservation.read(oid, smart.server)
    assert read_back.subject.reference == f"Patient/{pid}"


def test_without_the_token_every_route_but_metadata_is_401_operation_outcome(
    facade: Facade,
) -> None:
    resp = httpx.post(f"{facade.base}/Patient", json={"resourceType": "Patient"})
    assert resp.status_code == 401
    assert _issue(resp.json())["code"] == "login"
    assert resp.headers["www-authenticate"] == "Bearer"
    resp = httpx.get(f"{facade.base}/Patient/x", headers={"Authorization": "Bearer wrong"})
    assert resp.status_code == 401


def test_transaction_assigns_ids_and_resolves_urn_uuid_references(facade: Facade) -> None:
    before = facade.records()
    resp = facade.http.post("", json=fixture("transaction-patient-observation.json"))
    assert resp.status_code == 200, resp.text
    body = resp.json()
    R4BBundle.model_validate(body)
    assert body["type"] == "transaction-response"
    patient, observation = body["entry"]
    assert patient["response"]["status"] == "201 Created"
    ptype, pid, hist, version = patient["response"]["location"].split("/")
    assert (ptype, hist, version) == ("Patient", "_history", "1")
    otype, oid, _, _ = observation["response"]["location"].split("/")
    assert otype == "Observation" and oid != pid
    assert facade.records() == before + 2
    stored = facade.http.get(f"/Observation/{oid}").json()  # decrypted, hash checked
    assert stored["subject"] == {"reference": f"Patient/{pid}"}
    assert stored["id"] == oid
    assert facade.http.get(f"/Patient/{pid}").json()["name"][0]["family"] == "Chalmers"


def test_conditional_create_by_identifier_reuses_the_patient(facade: Facade) -> None:
    bundle = fixture("transaction-conditional-patient.json")
    first = facade.http.post("", json=bundle)
    assert first.status_code == 200, first.text
    patient, _ = first.json()["entry"]
    assert patient["response"]["status"] == "201 Created"
    pid = patient["response"]["location"].split("/")[1]
    before = facade.records()
    again = facade.http.post("", json=bundle)
    assert again.status_code == 200, again.text
    patient, condition = again.json()["entry"]
    assert patient["response"]["status"] == "200 OK"  # matched: nothing created
    assert patient["response"]["location"] == f"Patient/{pid}/_history/1"
    assert facade.records() == before + 1  # only the new Condition
    cid = condition["response"]["location"].split("/")[1]
    subject = facade.http.get(f"/Condition/{cid}").json()["subject"]["reference"]
    assert subject == f"Patient/{pid}"


def test_one_bad_entry_rolls_back_the_whole_transaction(facade: Facade) -> None:
    before = facade.records()
    resp = facade.http.post("", json=fixture("transaction-one-bad-entry.json"))
    assert resp.status_code == 422
    issue = _issue(resp.json())
    assert "entry[2]" in issue["diagnostics"] and "Observation.status" in issue["diagnostics"]
    assert "Rollback" not in resp.text and "not-a-status" not in resp.text
    assert facade.records() == before


def test_a_batch_keeps_the_good_entries_and_reports_each_bad_one(facade: Facade) -> None:
    before = facade.records()
    resp = facade.http.post("", json=fixture("batch-mixed.json"))
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["type"] == "batch-response"
    statuses = [e["response"]["status"] for e in body["entry"]]
    assert statuses == ["201 Created", "201 Created", "422 Unprocessable Entity",
                        "405 Method Not Allowed", "201 Created"]  # fmt: skip
    assert body["entry"][0]["response"]["location"] == "Patient/pat-batch-1/_history/1"
    assert _issue(body["entry"][2]["response"]["outcome"])["code"] == "invalid"
    assert facade.records() == before + 3


def test_put_makes_a_new_version_and_same_content_is_unchanged(facade: Facade) -> None:
    doc = {"resourceType": "Patient", "id": "pat-put", "gender": "other"}
    first = facade.http.put("/Patient/pat-put", json=doc)
    assert first.status_code == 201 and first.headers["etag"] == 'W/"1"'
    again = facade.http.put("/Patient/pat-put", json=doc)
    assert again.status_code == 200 and again.headers["etag"] == 'W/"1"'
    changed = facade.http.put("/Patient/pat-put", json={**doc, "gender": "female"})
    assert changed.status_code == 200
    assert changed.headers["location"].endswith("/Patient/pat-put/_history/2")
    assert facade.http.get("/Patient/pat-put").json()["gender"] == "female"
    assert facade.http.get("/Patient/pat-put/_history/1").json()["gender"] == "other"
    wrong = facade.http.put("/Patient/pat-put", json={**doc, "id": "another"})
    assert wrong.status_code == 400
    assert facade.http.get("/Patient/never-written").status_code == 404


# --- attacks -------------------------------------------------------------------------------


def test_an_oversized_body_is_413_operation_outcome_before_it_is_read(facade: Facade) -> None:
    big = b'{"resourceType":"Bundle","type":"batch","entry":[' + b" " * 70_000 + b"]}"
    resp = facade.http.post("", content=big)
    assert resp.status_code == 413
    assert _issue(resp.json())["code"] == "too-costly"

    def chunks() -> Iterator[bytes]:  # no Content-Length: cut while it streams
        yield big[:40_000]
        yield big[40_000:]

    streamed = facade.http.post("", content=chunks())
    assert streamed.status_code == 413 and _issue(streamed.json())["code"] == "too-costly"


@pytest.mark.parametrize(
    ("body", "status"),
    [
        (b"this is not json", 400),
        (b'{"resourceType": "Bundle", "type": "transaction"', 400),
        (b"\xff\xfe not utf-8", 400),
        (
            b'{"resourceType":"Observation","status":"final","code":{"text":"x"},'
            b'"subject":{"reference":"Patient/p"},"valueQuantity":{"value":' + b"9" * 5000 + b"}}",
            422,
        ),
        (
            b'{"resourceType":"Observation","status":"final","code":{"text":"x"},'
            b'"subject":{"reference":"Patient/p"},"valueQuantity":{"value":NaN}}',
            422,
        ),
        (b'{"resourceType":"Observation","status":"final","status":"final"}', 422),
    ],
    ids=["not-json", "truncated", "not-utf8", "5000-digits", "nan", "duplicate-key"],
)
def test_hostile_bodies_get_an_operation_outcome(facade: Facade, body: bytes, status: int) -> None:
    before = facade.records()
    resp = facade.http.post("/Observation", content=body)
    assert resp.status_code == status, resp.text
    assert resp.headers["content-type"].startswith("application/fhir+json")
    _issue(resp.json())
    assert facade.records() == before


def test_refusals_never_echo_patient_data(facade: Facade) -> None:
    phi = "Xavier-Quimbyfield-4471"
    cases = [
        ("/Patient", {"resourceType": "Patient", "gender": phi, "name": [{"family": phi}]}),
        ("", {"resourceType": "Bundle", "type": "transaction", "entry": [
            {"fullUrl": "urn:uuid:1", "request": {"method": "POST", "url": "Observation"},
             "resource": {"resourceType": "Observation", "status": "final",
                          "code": {"text": phi}, "subject": {"reference": f"urn:uuid:{phi}"}}}]}),
        ("/Observation", {"resourceType": "Observation", "status": phi}),
        ("/Patient", {"resourceType": "Patient", "identifier": [{"value": f" {phi} "}]}),
    ]  # fmt: skip
    for path, doc in cases:
        resp = facade.http.post(path, json=doc)
        assert resp.status_code in (400, 422), resp.text
        assert phi not in resp.text


def test_a_bundle_over_the_entry_limit_or_nested_too_deep_is_refused(facade: Facade) -> None:
    before = facade.records()
    many = {"resourceType": "Bundle", "type": "batch", "entry": [{}] * 1001}
    resp = facade.http.post("", json=many)
    assert resp.status_code == 413 and _issue(resp.json())["code"] == "too-costly"
    deep = b'{"resourceType":"Bundle","type":"batch","entry":' + b"[" * 5000 + b"]" * 5000 + b"}"
    resp = facade.http.post("", content=deep)
    assert resp.status_code == 400 and "nested" in _issue(resp.json())["diagnostics"]
    assert facade.records() == before


def test_unsupported_types_and_bundles_are_refused(facade: Facade) -> None:
    resp = facade.http.post("/Account", json={"resourceType": "Account", "status": "active"})
    assert resp.status_code == 422 and _issue(resp.json())["code"] == "not-supported"
    resp = facade.http.post("", json={"resourceType": "Bundle", "type": "document"})
    assert resp.status_code == 422
    resp = facade.http.post("/Observation", json={"resourceType": "Patient"})
    assert resp.status_code == 400
    resp = facade.http.post(
        "/Patient", content=b"<Patient/>", headers={"Content-Type": "application/fhir+xml"}
    )
    assert resp.status_code == 415
