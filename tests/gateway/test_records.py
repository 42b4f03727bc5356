"""Listing and fetching a redeemed case's records (the ``FileCaseStore`` stand-in re-hashes
each file like the node's verified store will; the HTTP layer is under test)."""

from __future__ import annotations

import base64
import hashlib
from pathlib import Path

import pytest
from eth_account.signers.local import LocalAccount
from pydicom.data import get_testdata_file

from gateway.domain import PhysicianStatus
from gateway.services.auth import token_digest
from keys.typing import CaseId, GrantId
from tests.gateway.conftest import Gateway
from tests.gateway.fakes import grant_state

GRANT, OTHER = GrantId(b"\x01" * 32), GrantId(b"\x02" * 32)
CASE, OTHER_CASE = CaseId(b"\x0c" * 32), CaseId(b"\x0d" * 32)


@pytest.fixture
def reader(gateway: Gateway, physician: LocalAccount, tmp_path: Path) -> dict[str, str]:
    for name, grant, case in [("CT_small.dcm", GRANT, CASE), ("MR_small.dcm", OTHER, OTHER_CASE)]:
        source = get_testdata_file(name)
        assert source is not None
        path = tmp_path / name
        path.write_bytes(Path(str(source)).read_bytes())
        gateway.cases.add(grant, path, case)
        gateway.chain.grants[grant] = grant_state(grant, gateway.settings.hospital, case_id=case)
    gateway.register(physician, PhysicianStatus.ACTIVE)
    token = gateway.sign_in(physician)
    gateway.sessions.add_grant(token_digest(settings=gateway.settings, token=token), GRANT)
    return {"Authorization": f"Bearer {token}"}


def test_records_of_a_redeemed_case_are_listed_and_served_verified(
    gateway: Gateway, reader: dict[str, str], tmp_path: Path
) -> None:
    listed = gateway.client.get(f"/cases/0x{CASE.hex()}/records", headers=reader)
    assert listed.status_code == 200
    [record] = listed.json()
    data = (tmp_path / "CT_small.dcm").read_bytes()
    assert record["content_hash"] == "0x" + hashlib.sha256(data).hexdigest()
    assert (record["media_type"], record["size"]) == ("application/dicom", len(data))
    fetched = gateway.client.get(f"/records/{record['record']}", headers=reader)
    assert fetched.status_code == 200
    assert fetched.content == data
    assert fetched.headers["content-type"] == "application/dicom"
    expected = base64.b64encode(hashlib.sha256(data).digest()).decode()
    assert fetched.headers["repr-digest"] == f"sha-256=:{expected}:"


def test_records_outside_the_redeemed_grants_do_not_exist(
    gateway: Gateway, reader: dict[str, str]
) -> None:
    other = gateway.client.get(f"/cases/0x{OTHER_CASE.hex()}/records", headers=reader)
    assert (other.status_code, other.json()) == (200, [])
    mr_id = next(iter(gateway.cases.list_records(grants={OTHER}))).record_id
    response = gateway.client.get(f"/records/0x{mr_id.hex()}", headers=reader)
    assert (response.status_code, response.json()["error"]) == (404, "not_found")


def test_tampered_record_is_refused_and_not_served(
    gateway: Gateway, reader: dict[str, str], tmp_path: Path
) -> None:
    path = tmp_path / "CT_small.dcm"
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))
    [record] = gateway.client.get(f"/cases/0x{CASE.hex()}/records", headers=reader).json()
    response = gateway.client.get(f"/records/{record['record']}", headers=reader)
    assert (response.status_code, response.json()["error"]) == (502, "integrity_failure")
    assert len(response.content) < 200  # the error body, not the record


def test_a_fhir_record_is_declared_as_the_json_object_it_is_served_as(gateway: Gateway) -> None:
    """Found by the real-process fuzzer: FHIR bodies were declared as a binary string."""
    schema = gateway.client.get("/openapi.json").json()
    content = schema["paths"]["/records/{record}"]["get"]["responses"]["200"]["content"]
    assert content["application/fhir+json"]["schema"]["type"] == "object"
    assert content["*/*"]["schema"] == {"type": "string", "format": "binary"}
