"""The consortium's TLS certificates: one CA; per hospital a server and a client certificate.

``consortium init`` creates a consortium CA (ECDSA P-256) and issues each hospital

* a **server** certificate (EKU ``serverAuth``) naming the hosts its node API and gateway
  are reached at: ``localhost`` and ``127.0.0.1`` on loopback; under compose the service
  names ``<slug>-node`` and ``<slug>-gateway`` too, and loopback for in-container
  healthchecks;
* a **client** certificate (EKU ``clientAuth``, CN and SAN = the hospital's slug) its node and
  gateway present to other nodes' peer routes (mutual TLS).

Hospital directory (``tls/``, 0700): ``ca.pem`` (the CA certificate, trusted by every
client), ``server.pem``/``server.key``, ``client.pem``/``client.key``; keys are 0600.

**Decision: the CA private key is kept, encrypted at rest**, as PKCS#8 under the consortium
passphrase (``BestAvailableEncryption``) in ``<consortium>/consortium-ca.key`` (0600), next
to ``consortium-ca.pem`` and outside every hospital directory: no hospital process ever
reads it, and whoever holds the passphrase can issue certificates for a member admitted later
(:func:`load_authority`, :func:`write_hospital_certs`). Discarding it would make every
admission a new CA and a re-issue for every member.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from medledger.consortium.exceptions import ConsortiumError
from medledger.consortium.files import write_private, write_public
from medledger.consortium.layout import HospitalPlan, Network
from medledger.processes import CA_FILE

#: In the consortium directory, next to ``consortium.json`` (no sub-directory: every
#: directory there is a hospital's).
CA_CERT = "consortium-ca.pem"
CA_KEY = "consortium-ca.key"
TLS_DIR = "tls"
HOSPITAL_CA = CA_FILE
SERVER_CERT = f"{TLS_DIR}/server.pem"
SERVER_KEY = f"{TLS_DIR}/server.key"
CLIENT_CERT = f"{TLS_DIR}/client.pem"
CLIENT_KEY = f"{TLS_DIR}/client.key"

ORGANIZATION = "medledger consortium"
CA_VALIDITY = timedelta(days=3650)
#: 825 days: the longest leaf lifetime common TLS clients accept.
LEAF_VALIDITY = timedelta(days=825)
#: Certificates start a little in the past, so a peer whose clock runs behind accepts them.
BACKDATE = timedelta(minutes=5)
LOOPBACK_HOSTS = ("localhost", "127.0.0.1")


class CertificateError(ConsortiumError):
    """The CA cannot be read (wrong passphrase, missing or damaged file)."""


@dataclass(frozen=True, slots=True)
class Authority:
    """The consortium CA: its key and self-signed certificate."""

    key: ec.EllipticCurvePrivateKey
    cert: x509.Certificate


def _name(common_name: str) -> x509.Name:
    return x509.Name([
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, ORGANIZATION),
        x509.NameAttribute(NameOID.COMMON_NAME, common_name),
    ])  # fmt: skip


def new_authority(*, now: datetime | None = None) -> Authority:
    """A fresh CA: may sign end-entity certificates only (path length 0)."""
    now = now or datetime.now(UTC)
    key = ec.generate_private_key(ec.SECP256R1())
    name = _name("medledger consortium CA")
    ski = x509.SubjectKeyIdentifier.from_public_key(key.public_key())
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - BACKDATE)
        .not_valid_after(now + CA_VALIDITY)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(_usage(cert_sign=True), critical=True)
        .add_extension(ski, critical=False)
        .sign(key, hashes.SHA256())
    )
    return Authority(key=key, cert=cert)


def _usage(*, cert_sign: bool) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=not cert_sign, content_commitment=False, key_encipherment=False,
        data_encipherment=False, key_agreement=False, key_cert_sign=cert_sign,
        crl_sign=cert_sign, encipher_only=False, decipher_only=False,
    )  # fmt: skip


def _san(hosts: Sequence[str]) -> x509.SubjectAlternativeName:
    names: list[x509.GeneralName] = []
    for host in hosts:
        try:
            names.append(x509.IPAddress(ipaddress.ip_address(host)))
        except ValueError:
            names.append(x509.DNSName(host))
    return x509.SubjectAlternativeName(names)


def issue(
    ca: Authority,
    *,
    common_name: str,
    purpose: x509.ObjectIdentifier,
    hosts: Sequence[str] = (),
    now: datetime | None = None,
) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    """A new key and an end-entity certificate for ``purpose`` (server or client auth)."""
    now = now or datetime.now(UTC)
    key = ec.generate_private_key(ec.SECP256R1())
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(common_name))
        .issuer_name(ca.cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - BACKDATE)
        .not_valid_after(min(now + LEAF_VALIDITY, ca.cert.not_valid_after_utc))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_usage(cert_sign=False), critical=True)
        .add_extension(x509.ExtendedKeyUsage([purpose]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca.key.public_key()), critical=False
        )
    )
    if hosts:
        builder = builder.add_extension(_san(hosts), critical=False)
    return key, builder.sign(ca.key, hashes.SHA256())


def server_hosts(plan: HospitalPlan, network: Network) -> tuple[str, ...]:
    """The names a hospital's node API and gateway are reached at (its server cert's SANs)."""
    if network is Network.loopback:
        return LOOPBACK_HOSTS
    return (plan.host(network, "node"), plan.host(network, "gateway"), *LOOPBACK_HOSTS)


def _pem(cert: x509.Certificate) -> str:
    return cert.public_bytes(serialization.Encoding.PEM).decode("ascii")


def _key_pem(key: ec.EllipticCurvePrivateKey, passphrase: str | None = None) -> str:
    encryption: serialization.KeySerializationEncryption = (
        serialization.BestAvailableEncryption(passphrase.encode())
        if passphrase is not None
        else serialization.NoEncryption()
    )
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption
    ).decode("ascii")


def write_authority(root: Path, ca: Authority, *, passphrase: str) -> None:
    """``consortium-ca.pem`` and the passphrase-encrypted ``consortium-ca.key`` (0600)."""
    write_public(root / CA_CERT, _pem(ca.cert))
    write_private(root / CA_KEY, _key_pem(ca.key, passphrase))


def load_authority(root: Path, *, passphrase: str) -> Authority:
    """The CA ``write_authority`` wrote, to issue certificates for a new member.

    Raises
    ------
    CertificateError
        A file is missing or damaged, or the passphrase is wrong (one message for both).
    """
    try:
        cert = x509.load_pem_x509_certificate((root / CA_CERT).read_bytes())
        key = serialization.load_pem_private_key(
            (root / CA_KEY).read_bytes(), password=passphrase.encode()
        )
    except OSError as exc:
        raise CertificateError(f"cannot read the consortium CA: {exc.strerror}") from None
    except (ValueError, TypeError):
        raise CertificateError("cannot open the consortium CA key (wrong passphrase?)") from None
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        raise CertificateError("the consortium CA key is not an ECDSA key")
    return Authority(key=key, cert=cert)


def write_hospital_certs(
    directory: Path, ca: Authority, *, plan: HospitalPlan, network: Network
) -> None:
    """Issue and write a hospital's ``tls/`` files (keys 0600, the directory 0700)."""
    (directory / TLS_DIR).mkdir(mode=0o700)
    write_public(directory / HOSPITAL_CA, _pem(ca.cert))
    hosts = server_hosts(plan, network)
    key, cert = issue(ca, common_name=plan.slug, purpose=ExtendedKeyUsageOID.SERVER_AUTH,
                      hosts=hosts)  # fmt: skip
    write_private(directory / SERVER_KEY, _key_pem(key))
    write_public(directory / SERVER_CERT, _pem(cert))
    # strict verifiers (RFC 5280 profiles, webpki) want a SAN on client certificates too
    key, cert = issue(ca, common_name=plan.slug, purpose=ExtendedKeyUsageOID.CLIENT_AUTH,
                      hosts=(plan.slug,))  # fmt: skip
    write_private(directory / CLIENT_KEY, _key_pem(key))
    write_public(directory / CLIENT_CERT, _pem(cert))
