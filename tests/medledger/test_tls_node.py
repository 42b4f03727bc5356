"""Attacks on a real TLS node: one hospital from ``consortium init --tls`` on loopback.

Its ledger, node and gateway are started from the process table by ``LocalConsortium``
(whose readiness checks go over HTTPS trusting the consortium CA), then hit with the
clients an attacker or a misconfigured peer would use.
"""

from __future__ import annotations

import ssl
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.x509.oid import ExtendedKeyUsageOID

from common.tls import client_context, http_client
from medledger.consortium import certs
from medledger.consortium.local import LocalConsortium
from medledger.processes import process
from node.config import load_config
from tests.integration.bft_cluster import free_port_block
from tests.medledger.conftest import FAST_KDF, PASSPHRASE, run_cli

pytestmark = pytest.mark.integration

CID = "bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku"


@pytest.fixture(scope="module")
def hospital(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LocalConsortium, Path]]:
    out = tmp_path_factory.mktemp("tls") / "c"
    code, _, err = run_cli(["consortium", "init", "--hospitals", "1", "--out", str(out), "--tls",
                            "--fast-consensus", "--base-port", str(free_port_block(10)),
                            *FAST_KDF])  # fmt: skip
    assert code == 0, err
    with LocalConsortium(out, passphrase=PASSPHRASE) as local:
        local.start(process("ledger"))
        code, _, err = run_cli(["consortium", "deploy", "--dir", str(out)])
        assert code == 0, err
        local.launch(process("node"))
        local.launch(process("gateway"))
        local.wait_healthy()
        yield local, out / local.manifest.hospitals[0].directory


def _url(local: LocalConsortium) -> str:
    return local.manifest.hospitals[0].node_url


def _token(home: Path) -> dict[str, str]:
    return {"Authorization": f"Bearer {(home / 'node-api.token').read_text().strip()}"}


def test_urls_are_https_and_the_gateway_serves_tls(hospital: tuple[LocalConsortium, Path]) -> None:
    local, home = hospital
    entry = local.manifest.hospitals[0]
    assert entry.node_url.startswith("https://127.0.0.1:")
    answer = httpx.get(entry.gateway_url + "/openapi.json",
                       verify=client_context(home / certs.HOSPITAL_CA), timeout=5)  # fmt: skip
    assert answer.status_code == 200


def test_plain_http_to_the_tls_port_gets_no_answer(hospital: tuple[LocalConsortium, Path]) -> None:
    local, _ = hospital
    plain = _url(local).replace("https://", "http://") + "/health"
    with pytest.raises(httpx.TransportError):
        httpx.get(plain, timeout=5)


def test_a_client_not_trusting_the_consortium_ca_fails(
    hospital: tuple[LocalConsortium, Path],
) -> None:
    local, _ = hospital
    with pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
        httpx.get(_url(local) + "/health", timeout=5)  # the system's public roots


def test_no_client_cert_is_refused_on_peer_routes_but_the_token_routes_work(
    hospital: tuple[LocalConsortium, Path],
) -> None:
    local, home = hospital
    with httpx.Client(verify=client_context(home / certs.HOSPITAL_CA), timeout=5) as client:
        assert client.get(_url(local) + "/referrals", headers=_token(home)).status_code == 200
        assert client.get(_url(local) + "/referrals").status_code == 401  # the token still counts
        for method, path in [("POST", "/deliveries"), ("GET", f"/blocks/{CID}"),
                             ("POST", "/deliveries/"), ("GET", f"//blocks/{CID}")]:  # fmt: skip
            resp = client.request(method, _url(local) + path, json={"token": "x"})
            assert resp.status_code == 403, (path, resp.text)
            assert resp.json()["error"] == "client_certificate_required"


def test_the_nodes_own_peer_client_passes_mutual_tls(
    hospital: tuple[LocalConsortium, Path],
) -> None:
    local, home = hospital
    files = load_config(home / "node.json").tls_files()
    with http_client(files, timeout=5) as client:  # what deliveries and block fetches use
        block = client.get(_url(local) + f"/blocks/{CID}")
        delivery = client.post(_url(local) + "/deliveries", json={"token": "x", "package_cid": CID})
    assert block.status_code == 404, block.text  # past the guard: the block is not here
    assert delivery.json().get("error") != "client_certificate_required", delivery.text


def test_a_client_certificate_from_another_ca_is_refused(
    hospital: tuple[LocalConsortium, Path], tmp_path: Path
) -> None:
    local, home = hospital
    rogue = certs.new_authority()
    key, cert = certs.issue(rogue, common_name=local.manifest.hospitals[0].slug,
                            purpose=ExtendedKeyUsageOID.CLIENT_AUTH)  # fmt: skip
    (tmp_path / "c.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (tmp_path / "c.key").write_bytes(key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption()))  # fmt: skip
    context = client_context(home / certs.HOSPITAL_CA, certfile=tmp_path / "c.pem",
                             keyfile=tmp_path / "c.key")  # fmt: skip
    with pytest.raises((httpx.TransportError, ssl.SSLError)):
        httpx.get(_url(local) + f"/blocks/{CID}", verify=context, timeout=5)


def test_the_node_cli_trusts_the_ca_it_is_given(hospital: tuple[LocalConsortium, Path]) -> None:
    local, home = hospital
    env = {"MEDLEDGER_NODE_API": _url(local),
           "MEDLEDGER_NODE_API_TOKEN": _token(home)["Authorization"].split()[1]}  # fmt: skip
    code, _, err = run_cli(["node", "referrals", "--json"], env=env)
    assert code == 2 and "CERTIFICATE_VERIFY_FAILED" in err
    ca = {"MEDLEDGER_NODE_API_CA": str(home / certs.HOSPITAL_CA)}
    code, _, err = run_cli(["node", "referrals", "--json"], env={**env, **ca})
    assert code == 0, err
