"""The node's configuration file (``node.json`` of a hospital node), validated by pydantic.

Relative paths are resolved against the file's directory, so a node folder can be moved as a
whole. Secrets are never in the file: the consortium pseudonym secret is read from an
environment variable or a file named here, the keystore passphrase from
``$MEDLEDGER_PASSPHRASE`` or a prompt, and the HTTP API token is stored as its SHA-256 only.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import json
import os
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from common.tls import TLSFiles
from node.exceptions import NodeConfigError

_HEX_ADDRESS = r"^0x[0-9a-fA-F]{40}$"
Address = Annotated[str, Field(pattern=_HEX_ADDRESS)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ContractAddresses(_Strict):
    """Where the deployed suite lives (``contracts.deploy.Deployment.as_dict()`` keys)."""

    consortium: Address
    anchors: Address
    referrals: Address
    grants: Address


class BlobSettings(_Strict):
    """Either an embedded store directory or a Kubo RPC API URL (``api`` wins when set)."""

    directory: str = "blobs"
    api: str | None = None
    durable: bool = True


class SecretSource(_Strict):
    """Where the consortium pseudonym secret comes from; the secret itself never is here."""

    env: str | None = "MEDLEDGER_CONSORTIUM_SECRET"
    file: str | None = None

    def __repr__(self) -> str:
        return f"SecretSource(env={self.env!r}, file={self.file!r})"


class AnchorSettings(_Strict):
    batch_size: Annotated[int, Field(ge=1, le=65_536)] = 256
    interval_s: Annotated[float, Field(gt=0, le=3600)] = 1.0
    resubmit_after_s: Annotated[float, Field(gt=0)] = 30.0


class ApiSettings(_Strict):
    host: str = "127.0.0.1"
    port: Annotated[int, Field(ge=0, le=65535)] = 8600
    #: SHA-256 (hex) of the bearer token the hospital's HIS/PACS presents.
    token_sha256: Annotated[str, Field(pattern=r"^[0-9a-f]{64}$")] | None = None
    max_fhir_bytes: Annotated[int, Field(ge=1024)] = 8 * 1024 * 1024
    max_dicom_bytes: Annotated[int, Field(ge=1024)] = 2 * 1024 * 1024 * 1024
    #: Limit of one NDJSON bulk import (``POST /records/fhir/bulk``), held in memory.
    max_bulk_bytes: Annotated[int, Field(ge=1024)] = 256 * 1024 * 1024
    #: Limit of every other JSON body (referrals, grants, case records): all small.
    max_json_bytes: Annotated[int, Field(ge=1024)] = 1024 * 1024
    #: Limit of a peer's ``POST /deliveries`` (a token and a CID: a few KB).
    max_delivery_bytes: Annotated[int, Field(ge=1024)] = 64 * 1024
    #: Per peer address: ``POST /deliveries`` (each checks a signature and reads the chain).
    delivery_rate_per_minute: Annotated[float, Field(gt=0)] = 60.0
    delivery_burst: Annotated[int, Field(ge=1)] = 30
    #: Per peer address: ``GET /blocks/{cid}`` (replicating a study fetches every block).
    block_rate_per_second: Annotated[float, Field(gt=0)] = 200.0
    block_burst: Annotated[int, Field(ge=1)] = 2000

    def token_ok(self, token: str) -> bool:
        """Constant-time check of a presented bearer token against the stored hash."""
        if self.token_sha256 is None:
            return False
        digest = hashlib.sha256(token.encode()).hexdigest()
        return hmac.compare_digest(digest, self.token_sha256)


class Hl7Settings(_Strict):
    """The HL7 v2 MLLP listener of the node (issue 16): off unless enabled.

    Only peers in ``allowed_peers`` (addresses or CIDRs: the hospital's interface engine)
    may connect; the others are closed at once. ``max_message_bytes`` bounds one frame (a
    longer one, or one that never ends, gets a NAK and the connection is closed).
    """

    enabled: bool = False
    host: str = "127.0.0.1"
    port: Annotated[int, Field(ge=0, le=65535)] = 2575
    allowed_peers: list[str] = Field(default_factory=lambda: ["127.0.0.1/32", "::1/128"])
    max_message_bytes: Annotated[int, Field(ge=1024, le=64 * 1024 * 1024)] = 1024 * 1024
    idle_timeout_s: Annotated[float, Field(gt=0, le=86_400)] = 300.0
    max_connections: Annotated[int, Field(ge=1, le=1024)] = 16

    @field_validator("allowed_peers")
    @classmethod
    def _networks(cls, value: list[str]) -> list[str]:
        for peer in value:
            ipaddress.ip_network(peer, strict=False)  # ValueError names the bad entry
        return value


class DicomPeer(_Strict):
    """A DICOM peer allowed to open associations: its calling AE title and its host address."""

    aet: Annotated[str, Field(min_length=1, max_length=16, pattern=r"^[ -~]*[!-~][ -~]*$")]
    host: str = "127.0.0.1"


class DimseSettings(_Strict):
    """The node's DICOM listener (C-ECHO, C-STORE SCP; see :mod:`node.dimse`).

    Only ``peers`` may associate: an unknown calling AE title, or a known one from another
    host, is rejected at association (A-ASSOCIATE-RJ, "calling AE title not recognized").
    """

    enabled: bool = False
    host: str = "127.0.0.1"
    port: Annotated[int, Field(ge=0, le=65535)] = 11112
    aet: Annotated[str, Field(min_length=1, max_length=16, pattern=r"^[ -~]*[!-~][ -~]*$")] = (
        "MEDLEDGER"
    )
    peers: tuple[DicomPeer, ...] = ()
    max_associations: Annotated[int, Field(ge=1, le=256)] = 8
    #: The largest P-DATA PDU we announce and accept (bytes; DICOM's minimum is 4096).
    max_pdu_bytes: Annotated[int, Field(ge=4096, le=16 * 1024 * 1024)] = 256 * 1024
    #: One instance larger than this is refused (C-STORE failure), spooled bytes deleted.
    max_instance_bytes: Annotated[int, Field(ge=1024)] = 1024 * 1024 * 1024
    #: An association silent for this long is aborted (ACSE, DIMSE and network timeouts).
    idle_timeout_s: Annotated[float, Field(gt=0, le=3600)] = 60.0


class TlsSettings(_Strict):
    """HTTPS for the node API and mutual TLS to peers (paths relative to node.json).

    The API serves ``certfile`` and asks clients for a certificate from ``ca_file`` (the
    consortium CA); the peer routes (``/deliveries``, ``/blocks/...``) refuse requests
    without one. Calls to peers trust ``ca_file`` only and present ``client_certfile``.
    """

    ca_file: str = "tls/ca.pem"
    certfile: str = "tls/server.pem"
    keyfile: str = "tls/server.key"
    client_certfile: str = "tls/client.pem"
    client_keyfile: str = "tls/client.key"


class NodeSettings(_Strict):
    """Everything a hospital node needs to run (see the module docstring for secrets)."""

    data_dir: str = "data"
    keystore_dir: str = "keystore"
    rpc_url: str = "http://127.0.0.1:8545"
    contracts: ContractAddresses
    blob: BlobSettings = Field(default_factory=BlobSettings)
    consortium_secret: SecretSource = Field(default_factory=SecretSource)
    anchor: AnchorSettings = Field(default_factory=AnchorSettings)
    api: ApiSettings = Field(default_factory=ApiSettings)
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    #: Worker processes that validate and seal bulk imports (0: in the node process).
    ingest_workers: Annotated[int, Field(ge=0, le=64)] = 0
    #: The DICOM listener (off unless enabled; ``consortium init`` gives each hospital a port).
    dimse: DimseSettings = Field(default_factory=DimseSettings)
    #: HTTPS and peer mTLS (``None``: plain HTTP, the loopback demo's default).
    tls: TlsSettings | None = None
    #: HL7 v2 over MLLP (issue 16).
    hl7: Hl7Settings = Field(default_factory=Hl7Settings)
    #: On a break-glass opening of one of our cases: release the keys by ourselves
    #: (``allow``), release and raise a warning for review (``allow-and-notify``), or
    #: release nothing (``deny``). See :mod:`node.cases.breakglass`.
    break_glass: Literal["allow", "deny", "allow-and-notify"] = "allow-and-notify"

    @field_validator("rpc_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("rpc_url must be an http(s) URL")
        return value


class LoadedConfig:
    """A validated config plus the directory its relative paths start from."""

    def __init__(self, settings: NodeSettings, base: Path) -> None:
        self.settings = settings
        self.base = base

    def path(self, relative: str) -> Path:
        p = Path(relative)
        return p if p.is_absolute() else self.base / p

    @property
    def data_dir(self) -> Path:
        return self.path(self.settings.data_dir)

    @property
    def keystore_dir(self) -> Path:
        return self.path(self.settings.keystore_dir)

    def tls_files(self) -> TLSFiles | None:
        """The TLS files with paths resolved against the config's directory (``None``: off)."""
        tls = self.settings.tls
        if tls is None:
            return None
        return TLSFiles(
            ca_file=self.path(tls.ca_file),
            certfile=self.path(tls.certfile),
            keyfile=self.path(tls.keyfile),
            client_certfile=self.path(tls.client_certfile),
            client_keyfile=self.path(tls.client_keyfile),
        )

    @property
    def outbox_path(self) -> Path:
        return self.data_dir / "outbox.sqlite"

    def consortium_secret(self) -> bytes:
        """Read the pseudonym secret (hex in an env var or a file); never logged."""
        src = self.settings.consortium_secret
        raw: str | None = None
        if src.env and os.environ.get(src.env):
            raw = os.environ[src.env]
        elif src.file:
            try:
                raw = self.path(src.file).read_text(encoding="utf-8")
            except OSError as exc:
                raise NodeConfigError(
                    f"cannot read the consortium secret file: {exc.strerror}"
                ) from None
        if raw is None:
            raise NodeConfigError("no consortium secret: set the env variable or the file named")
        try:
            return bytes.fromhex(raw.strip())
        except ValueError:
            raise NodeConfigError("the consortium secret must be hex") from None


def load_config(path: Path) -> LoadedConfig:
    """Read and validate ``path``; raises :class:`NodeConfigError` with every problem named."""
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise NodeConfigError(f"config file {path} does not exist (medledger node init)") from None
    except (OSError, json.JSONDecodeError) as exc:
        raise NodeConfigError(f"cannot read config {path}: {exc}") from None
    try:
        settings = NodeSettings.model_validate(raw)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or '<root>'}: {e['msg']}" for e in exc.errors()
        )
        raise NodeConfigError(f"{path}: invalid node config: {problems}") from None
    return LoadedConfig(settings, path.resolve().parent)


def write_config(path: Path, settings: NodeSettings) -> None:
    path.write_text(json.dumps(settings.model_dump(mode="json"), indent=2) + "\n", "utf-8")
