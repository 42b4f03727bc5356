"""common.tls and common.tls_asgi: context builders' errors and the peer-route guard."""

from __future__ import annotations

import asyncio
import ssl
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.x509.oid import ExtendedKeyUsageOID
from pydantic import ValidationError

from common.tls import TLSConfigError, check_cert_pair, client_context
from common.tls_asgi import RequireClientCert, is_client_certificate
from gateway.settings import GatewaySettings
from medledger.consortium import certs
from medledger.healthcheck import main as healthcheck

CA = certs.new_authority()


def _pem(purpose: Any) -> str:
    _, cert = certs.issue(CA, common_name="h", purpose=purpose, hosts=("h",))
    return cert.public_bytes(serialization.Encoding.PEM).decode()


async def _ok(scope: Any, receive: Any, send: Any) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"ok"})


def _status(path: str, chain: list[str] | None) -> int:
    guard = RequireClientCert(_ok, paths=frozenset({"/deliveries"}), prefixes=("/blocks/",))
    scope: dict[str, Any] = {"type": "http", "path": path, "method": "GET", "headers": []}
    if chain is not None:
        scope["extensions"] = {"tls": {"client_cert_chain": chain}}
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b""}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    asyncio.run(guard(scope, receive, send))
    return int(sent[0]["status"])


@pytest.mark.parametrize("path", ["/deliveries", "/deliveries/", "//deliveries", "/blocks/x"])
def test_peer_paths_need_a_client_certificate(path: str) -> None:
    assert _status(path, None) == 403
    assert _status(path, []) == 403
    assert _status(path, [_pem(ExtendedKeyUsageOID.SERVER_AUTH)]) == 403  # not a client cert
    assert _status(path, [_pem(ExtendedKeyUsageOID.CLIENT_AUTH)]) == 200


@pytest.mark.parametrize("path", ["/records", "/health", "/blocksx", "/deliveriesx"])
def test_other_paths_pass_without_one(path: str) -> None:
    assert _status(path, None) == 200


def test_eku_decides_what_a_client_certificate_is() -> None:
    from cryptography import x509

    server = x509.load_pem_x509_certificate(_pem(ExtendedKeyUsageOID.SERVER_AUTH).encode())
    client = x509.load_pem_x509_certificate(_pem(ExtendedKeyUsageOID.CLIENT_AUTH).encode())
    assert not is_client_certificate(server) and is_client_certificate(client)


def test_missing_or_mismatched_files_are_clear_errors(tmp_path: Path) -> None:
    with pytest.raises(TLSConfigError, match="cannot load"):
        client_context(tmp_path / "missing.pem")
    key, cert = certs.issue(CA, common_name="h", purpose=ExtendedKeyUsageOID.SERVER_AUTH)
    other, _ = certs.issue(CA, common_name="o", purpose=ExtendedKeyUsageOID.SERVER_AUTH)
    (tmp_path / "c.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    for name, k in (("k.pem", key), ("o.pem", other)):
        (tmp_path / name).write_bytes(k.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption()))  # fmt: skip
    check_cert_pair(tmp_path / "c.pem", tmp_path / "k.pem")
    with pytest.raises(TLSConfigError):
        check_cert_pair(tmp_path / "c.pem", tmp_path / "o.pem")


def test_client_context_trusts_only_the_given_ca(tmp_path: Path) -> None:
    (tmp_path / "ca.pem").write_bytes(CA.cert.public_bytes(serialization.Encoding.PEM))
    context = client_context(tmp_path / "ca.pem")
    assert context.verify_mode is ssl.CERT_REQUIRED and context.check_hostname
    assert len(context.get_ca_certs()) == 1


def test_gateway_settings_tie_https_to_the_certificate() -> None:
    base = {"hospital": "0x" + "11" * 20, "chain_id": 1, "grants_contract": "0x" + "22" * 20,
            "env": "dev"}  # fmt: skip
    tls = {"tls_certfile": "tls/server.pem", "tls_keyfile": "tls/server.key"}
    GatewaySettings.model_validate({**base, "public_url": "https://h:1", **tls})
    GatewaySettings.model_validate({**base, "public_url": "https://h:1"})  # behind a TLS proxy
    with pytest.raises(ValidationError, match="not https"):
        GatewaySettings.model_validate({**base, "public_url": "http://h:1", **tls})
    with pytest.raises(ValidationError, match="both"):
        GatewaySettings.model_validate({**base, "public_url": "https://h:1", "tls_certfile": "x"})


def test_healthcheck_usage_and_bad_ca(tmp_path: Path) -> None:
    assert healthcheck(["http", "https://127.0.0.1:1/", "--ca"]) == 2
    assert healthcheck(["http", "https://127.0.0.1:1/", "--ca", str(tmp_path / "no.pem")]) == 1
