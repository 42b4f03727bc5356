"""Gateway settings from ``MEDLEDGER_GATEWAY_*`` environment variables (or a ``.env`` file).

Outside ``env=dev`` the gateway refuses to start with the shipped default secret: a
gateway that runs in production with a secret printed in the source is worse than one
that does not start. ``chain_id`` and ``grants_contract`` repeat what the node's
``node.json`` (its chain, its contracts) says; ``gateway.wiring.build.check_agreement``
refuses to start when they differ.
"""

from __future__ import annotations

import functools
from typing import Literal, Self

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from gateway.address import checksummed
from gateway.destinations import AE_TITLE, DicomDestination, FhirDestination
from keys.typing import HospitalAddress

#: Shipped so that ``env=dev`` works out of the box; refused everywhere else.
DEFAULT_SESSION_SECRET = "dev-only-session-secret-change-me"
MIN_SECRET_LENGTH = 32


class GatewaySettings(BaseSettings):
    """Everything one hospital's gateway needs to know about itself."""

    model_config = SettingsConfigDict(
        env_prefix="MEDLEDGER_GATEWAY_", env_file=".env", extra="ignore", frozen=True
    )

    env: Literal["dev", "test", "prod"] = "prod"
    hospital: HospitalAddress = Field(description="This hospital's chain account.")
    chain_id: int = Field(gt=0, description="Chain id sign-in challenges and tokens bind to.")
    grants_contract: HospitalAddress = Field(
        description="Address of the Grants contract access tokens are bound to."
    )
    public_url: str = Field(
        default="http://127.0.0.1:8080", description="How physicians reach this gateway."
    )
    #: Key of the HMAC under which session tokens are stored (a pepper: a copy of the
    #: session store alone cannot be matched against tokens seen elsewhere, e.g. in logs).
    session_secret: SecretStr = SecretStr(DEFAULT_SESSION_SECRET)
    session_ttl_seconds: int = Field(default=900, gt=0, le=12 * 3600)
    challenge_ttl_seconds: int = Field(default=120, gt=0, le=3600)
    qido_max_results: int = Field(default=1000, gt=0)
    #: Body limit of the sign-in routes (an address, a nonce, a signature: well under 1 KiB).
    max_auth_body_bytes: int = Field(default=64 * 1024, ge=1024)
    #: Body limit of every other route (a token, a proof for a trace, a QIDO form).
    max_body_bytes: int = Field(default=1024 * 1024, ge=1024)
    #: Sign-in challenges per client address (physician and auditor routes, each its own
    #: bucket): sustained rate, and how many at once.
    challenge_rate_per_minute: float = Field(default=30.0, gt=0)
    challenge_burst: int = Field(default=20, ge=1)
    #: Origins of web viewers (e.g. a DICOMweb viewer served elsewhere) allowed to call us.
    cors_origins: list[str] = Field(default_factory=list)
    #: The hospital's own systems a physician may push a granted study or records to, by
    #: name (JSON in the environment): PACS as DICOM C-STORE SCPs, HIS as FHIR servers.
    dicom_destinations: dict[str, DicomDestination] = Field(default_factory=dict)
    fhir_destinations: dict[str, FhirDestination] = Field(default_factory=dict)
    #: Our AE title when we call a DICOM destination (configure it there as a peer).
    dicom_ae_title: str = Field(default="MEDLEDGER", pattern=AE_TITLE)
    #: The disclosure log's head goes on chain once this many reads are unanchored, or
    #: this many seconds after the last anchor if any read is (and on ``POST
    #: /audit/disclosures/anchor``).
    disclosure_anchor_every: int = Field(default=100, ge=1)
    disclosure_anchor_seconds: float = Field(default=300.0, gt=0)
    #: HTTPS: the server certificate and key (both, or neither with an http public URL).
    tls_certfile: str | None = None
    tls_keyfile: str | None = None

    @field_validator("hospital", "grants_contract", mode="before")
    @classmethod
    def _checksum(cls, value: object) -> HospitalAddress:
        return HospitalAddress(checksummed(value))

    @model_validator(mode="after")
    def _tls_matches_url(self) -> Self:
        """A certificate to serve means an https public URL.

        An https URL without one is a gateway behind a TLS-terminating proxy.
        """
        if (self.tls_certfile is None) != (self.tls_keyfile is None):
            raise ValueError("set both MEDLEDGER_GATEWAY_TLS_CERTFILE and _TLS_KEYFILE, or neither")
        if self.tls_certfile is not None and not self.public_url.startswith("https://"):
            raise ValueError("TLS files are set but public_url is not https")
        return self

    @model_validator(mode="after")
    def _refuse_default_secret(self) -> Self:
        if self.env == "dev":
            return self
        secret = self.session_secret.get_secret_value()
        if secret == DEFAULT_SESSION_SECRET:
            raise ValueError(
                f"MEDLEDGER_GATEWAY_SESSION_SECRET is the shipped default; "
                f"set a random secret (env={self.env} is not dev)"
            )
        if len(secret) < MIN_SECRET_LENGTH:
            raise ValueError(f"session secret must be at least {MIN_SECRET_LENGTH} characters")
        return self


@functools.lru_cache(maxsize=1)
def get_settings() -> GatewaySettings:
    """The process's settings, read once (a FastAPI dependency; tests override it)."""
    return GatewaySettings()  # type: ignore[call-arg]  # required fields come from the env
