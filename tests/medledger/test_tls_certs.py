"""``consortium init`` certificates: the CA, SANs, key usages, chains, validity, file modes."""

from __future__ import annotations

import ipaddress
import json
import stat
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509 import verification
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from medledger.consortium import certs
from medledger.consortium.files import read_env_file
from tests.medledger.conftest import FAST_KDF, PASSPHRASE, run_cli


def _init(out: Path, *extra: str) -> Path:
    code, _, err = run_cli(["consortium", "init", "--hospitals", "2", "--out", str(out),
                            *FAST_KDF, *extra])  # fmt: skip
    assert code == 0, err
    return out


@pytest.fixture(scope="module")
def loopback(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _init(tmp_path_factory.mktemp("loop") / "c")


@pytest.fixture(scope="module")
def compose(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _init(tmp_path_factory.mktemp("compose") / "c", "--network", "compose")


def _cert(path: Path) -> x509.Certificate:
    return x509.load_pem_x509_certificate(path.read_bytes())


def _hospitals(root: Path) -> list[Path]:
    return sorted(p for p in root.iterdir() if (p / "node.json").is_file())


def _sans(cert: x509.Certificate) -> set[str]:
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    return {str(v) for v in san.get_values_for_type(x509.DNSName)} | {
        str(v) for v in san.get_values_for_type(x509.IPAddress)
    }


def test_the_ca_key_is_encrypted_and_outside_every_hospital(loopback: Path) -> None:
    key_pem = (loopback / certs.CA_KEY).read_bytes()
    assert key_pem.startswith(b"-----BEGIN ENCRYPTED PRIVATE KEY-----")
    ca = certs.load_authority(loopback, passphrase=PASSPHRASE)
    assert isinstance(ca.key.curve, ec.SECP256R1)
    with pytest.raises(certs.CertificateError, match="passphrase"):
        certs.load_authority(loopback, passphrase="not the passphrase")
    for home in _hospitals(loopback):
        for path in home.rglob("*"):
            assert not path.is_file() or path.read_bytes() != key_pem, path
        assert (home / certs.HOSPITAL_CA).read_bytes() == (loopback / certs.CA_CERT).read_bytes()


def test_ca_is_a_p256_ca_for_end_entities_only(loopback: Path) -> None:
    ca = _cert(loopback / certs.CA_CERT)
    constraints = ca.extensions.get_extension_for_class(x509.BasicConstraints)
    assert constraints.critical and constraints.value.ca and constraints.value.path_length == 0
    usage = ca.extensions.get_extension_for_class(x509.KeyUsage).value
    assert usage.key_cert_sign and usage.crl_sign and not usage.digital_signature
    assert isinstance(ca.public_key(), ec.EllipticCurvePublicKey)


def test_loopback_server_cert_names_loopback_and_chains_to_the_ca(loopback: Path) -> None:
    store = verification.Store([_cert(loopback / certs.CA_CERT)])
    for home in _hospitals(loopback):
        server = _cert(home / certs.SERVER_CERT)
        assert _sans(server) == {"localhost", "127.0.0.1"}
        for name in (verification.DNSName("localhost"),
                     verification.IPAddress(ipaddress.ip_address("127.0.0.1"))):  # fmt: skip
            verifier = verification.PolicyBuilder().store(store).build_server_verifier(name)
            assert verifier.verify(server, [])[0] == server
        bad = (
            verification.PolicyBuilder()
            .store(store)
            .build_server_verifier(verification.DNSName("evil.example"))
        )
        with pytest.raises(verification.VerificationError):
            bad.verify(server, [])


def test_compose_server_cert_names_the_service_hosts(compose: Path) -> None:
    manifest = json.loads((compose / "consortium.json").read_text())
    for entry in manifest["hospitals"]:
        server = _cert(compose / entry["directory"] / certs.SERVER_CERT)
        slug = entry["slug"]
        assert {f"{slug}-node", f"{slug}-gateway", "localhost", "127.0.0.1"} == _sans(server)
        assert entry["node_url"].startswith(f"https://{slug}-node:")


def test_client_and_server_certs_have_their_own_key_usage(loopback: Path) -> None:
    store = verification.Store([_cert(loopback / certs.CA_CERT)])
    for home in _hospitals(loopback):
        server, client = _cert(home / certs.SERVER_CERT), _cert(home / certs.CLIENT_CERT)

        def eku(cert: x509.Certificate) -> list[x509.ObjectIdentifier]:
            return list(cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value)

        assert eku(server) == [ExtendedKeyUsageOID.SERVER_AUTH]
        assert eku(client) == [ExtendedKeyUsageOID.CLIENT_AUTH]
        for cert in (server, client):
            assert not cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
            assert cert.extensions.get_extension_for_class(x509.KeyUsage).value.digital_signature
        verified = (
            verification.PolicyBuilder().store(store).build_client_verifier().verify(client, [])
        )
        assert verified.chain[0] == client
        assert client.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == home.name


def test_certificates_are_valid_now_and_not_for_long(loopback: Path) -> None:
    now = datetime.now(UTC)
    ca = _cert(loopback / certs.CA_CERT)
    for home in _hospitals(loopback):
        for name in (certs.SERVER_CERT, certs.CLIENT_CERT):
            cert = _cert(home / name)
            assert cert.not_valid_before_utc <= now <= cert.not_valid_after_utc
            assert cert.not_valid_after_utc - cert.not_valid_before_utc <= certs.LEAF_VALIDITY + (
                certs.BACKDATE
            )
            assert cert.not_valid_after_utc <= ca.not_valid_after_utc
    assert ca.not_valid_after_utc - now > timedelta(days=365)


def test_private_keys_are_0600_in_0700_directories(loopback: Path) -> None:
    assert stat.S_IMODE((loopback / certs.CA_KEY).stat().st_mode) == 0o600
    for home in _hospitals(loopback):
        assert stat.S_IMODE((home / certs.TLS_DIR).stat().st_mode) == 0o700
        for key in (certs.SERVER_KEY, certs.CLIENT_KEY):
            assert stat.S_IMODE((home / key).stat().st_mode) == 0o600


def test_a_certificate_from_another_ca_does_not_chain(loopback: Path) -> None:
    rogue = certs.new_authority()
    _, cert = certs.issue(rogue, common_name="village-clinic",
                          purpose=ExtendedKeyUsageOID.CLIENT_AUTH)  # fmt: skip
    store = verification.Store([_cert(loopback / certs.CA_CERT)])
    with pytest.raises(verification.VerificationError):
        verification.PolicyBuilder().store(store).build_client_verifier().verify(cert, [])


def test_tls_is_off_on_loopback_and_on_under_compose_by_default(
    loopback: Path, compose: Path
) -> None:
    for home in _hospitals(loopback):
        assert json.loads((home / "node.json").read_text())["tls"] is None
        assert "MEDLEDGER_GATEWAY_TLS_CERTFILE" not in read_env_file(home / "gateway.env")
    for home in _hospitals(compose):
        tls = json.loads((home / "node.json").read_text())["tls"]
        assert tls["certfile"] == certs.SERVER_CERT and tls["ca_file"] == certs.HOSPITAL_CA
        env = read_env_file(home / "gateway.env")
        assert env["MEDLEDGER_GATEWAY_TLS_CERTFILE"] == certs.SERVER_CERT
        assert env["MEDLEDGER_GATEWAY_PUBLIC_URL"].startswith("https://")


def test_no_tls_under_compose_when_asked(tmp_path: Path) -> None:
    out = _init(tmp_path / "c", "--network", "compose", "--no-tls")
    for home in _hospitals(out):
        assert json.loads((home / "node.json").read_text())["tls"] is None
