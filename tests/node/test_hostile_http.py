"""Hostile HTTP input against the node API: oversized bodies, floods, values echoed, numbers.

The body-limit attack runs against real uvicorn on loopback over a raw socket, so "refused
before it was read" is observed on the wire: the 413 arrives while most of the declared body
was never sent.
"""

from __future__ import annotations

import json
import socket
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from fastapi.testclient import TestClient

from common.errors import status_code_name
from tests.gateway.server import serve
from tests.node.case_app import AUTH, case_app

PHI = "Xavier Quimbyfield"
OBS = {"resourceType": "Observation", "status": "final", "code": {"text": "pulse"},
       "subject": {"reference": "Patient/MRN-1"}, "valueQuantity": {"value": 71}}  # fmt: skip


def _status_line(sock: socket.socket) -> bytes:
    data = b""
    while b"\r\n" not in data:
        chunk = sock.recv(4096)
        if not chunk:
            break
        data += chunk
    return data.split(b"\r\n", 1)[0]


def test_a_50_mb_body_to_a_small_json_route_is_refused_before_it_is_read(
    tmp_path: Path,
) -> None:
    with case_app(tmp_path) as app, serve(app) as url:
        host = urlsplit(url)
        for path in ["/referrals", "/deliveries"]:
            with socket.create_connection((host.hostname, host.port), timeout=10) as sock:
                head = (f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                        f"Content-Length: {50 * 1024 * 1024}\r\n\r\n")  # fmt: skip
                sock.sendall(head.encode() + b"{" * 4096)  # 4 KB of the declared 50 MB
                assert _status_line(sock).startswith(b"HTTP/1.1 413"), path


def test_a_chunked_body_is_cut_at_the_limit_while_it_streams(tmp_path: Path) -> None:
    with case_app(tmp_path) as app, serve(app) as url:
        host = urlsplit(url)
        with socket.create_connection((host.hostname, host.port), timeout=10) as sock:
            sock.sendall(b"POST /deliveries HTTP/1.1\r\nHost: x\r\nContent-Type: application/json"
                         b"\r\nTransfer-Encoding: chunked\r\n\r\n")  # fmt: skip
            chunk = b"a" * 16384
            sent = 0
            for _ in range(8):  # 128 KiB, twice the 64 KiB delivery limit; then we stop
                sock.sendall(b"4000\r\n" + chunk + b"\r\n")
                sent += len(chunk)
            status = _status_line(sock)  # no final 0-chunk: the server never saw an end
        assert status.startswith(b"HTTP/1.1 413")


def test_ingest_routes_keep_their_configured_limit(tmp_path: Path) -> None:
    with case_app(tmp_path, max_fhir_bytes=4096, max_json_bytes=2048) as app:
        client = TestClient(app)
        big = json.dumps({**OBS, "note": [{"text": "x" * 3000}]}).encode()
        assert client.post("/records/fhir", content=big, headers=AUTH).status_code == 201
        huge = json.dumps({**OBS, "note": [{"text": "x" * 5000}]}).encode()
        refused = client.post("/records/fhir", content=huge, headers=AUTH)
        assert refused.status_code == 413
        assert set(refused.json()) == {"error", "detail"}
        assert refused.json()["error"] == status_code_name(413)
        small_route = client.post("/referrals", content=b" " * 3000, headers=AUTH)
        assert small_route.status_code == 413


BAD_FHIR = {
    "5000-digit integer": json.dumps(OBS).replace("71", "1" + "0" * 5000),
    "NaN": json.dumps(OBS).replace("71", "NaN"),
    "Infinity": json.dumps(OBS).replace("71", "Infinity"),
    "1e999": json.dumps(OBS).replace("71", "1e999"),
    "bogus status": json.dumps({**OBS, "status": "bogus"}),
    "missing status": json.dumps({k: v for k, v in OBS.items() if k != "status"}),
}
ELEMENT = {"bogus status": "Observation.status", "missing status": "status"}


@pytest.mark.parametrize("name", list(BAD_FHIR))
def test_hostile_fhir_numbers_and_codes_get_a_422_naming_the_problem(
    tmp_path: Path, name: str
) -> None:
    with case_app(tmp_path) as app:
        client = TestClient(app, raise_server_exceptions=False)
        body = BAD_FHIR[name]
        one = client.post("/records/fhir", content=body, headers=AUTH)
        assert one.status_code == 422, (name, one.text)
        assert one.json()["error"] in {"invalid_fhir", "unsupported_fhir_resource"}
        assert ELEMENT.get(name, "") in one.json()["detail"]
        good = json.dumps(OBS)
        bulk = client.post("/records/fhir/bulk", content=f"{good}\n{body}\n", headers=AUTH)
        assert bulk.status_code == 422, (name, bulk.text)
        assert "line 2" in bulk.json()["detail"]


def test_no_error_response_echoes_a_submitted_value(tmp_path: Path) -> None:
    with case_app(tmp_path) as app:
        client = TestClient(app)
        answers = [
            client.post("/referrals", json={"case_id": PHI, "to": PHI, "reason_code": PHI},
                        headers=AUTH),
            client.post("/referrals", json={"case_id": 1, "to": [PHI], "reason_code": {PHI: PHI}},
                        headers=AUTH),
            client.post("/grants", json={"case_id": PHI, "to": PHI, "expires_at": PHI},
                        headers=AUTH),
            client.post("/deliveries", json={"token": {"x": PHI}, "package_cid": 5}),
            client.post("/deliveries", content=b'{"token": "' + PHI.encode() + b'"'),
            client.post("/records/fhir", json={**OBS, "status": PHI}, headers=AUTH),
            client.post("/records/fhir", json={"resourceType": PHI}, headers=AUTH),
            client.post("/records/fhir", json={"resourceType": "Patient", "id": "p1",
                                               "gender": PHI}, headers=AUTH),
            client.post("/records/fhir", json={"resourceType": "Patient", "id": "p1",
                                               "birthDate": PHI}, headers=AUTH),
        ]  # fmt: skip
        for answer in answers:
            assert 400 <= answer.status_code < 500, answer.text
            assert PHI not in answer.text and "Quimbyfield" not in answer.text, answer.text
            assert {"error", "detail"} <= set(answer.json())


def test_a_peer_flooding_the_peer_routes_gets_429_with_retry_after(tmp_path: Path) -> None:
    with case_app(tmp_path, delivery_burst=3, delivery_rate_per_minute=1.0) as app:
        flood = TestClient(app, client=("10.0.0.66", 4000))
        codes = [flood.post("/deliveries", json={}).status_code for _ in range(6)]
        assert codes[:3] == [422, 422, 422] and codes[3:] == [429, 429, 429]
        refused = flood.post("/deliveries", json={})
        assert int(refused.headers["retry-after"]) >= 1
        assert refused.json()["error"] == status_code_name(429)
        other = TestClient(app, client=("10.0.0.7", 4000))  # another peer is not affected
        assert other.post("/deliveries", json={}).status_code == 422
