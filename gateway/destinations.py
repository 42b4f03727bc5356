"""Where the receiving hospital's own systems are (PACS, HIS): named in the gateway's settings."""

from __future__ import annotations

from pydantic import BaseModel, Field

#: PS3.5 AE title: 1 to 16 printable ASCII characters, no backslash.
AE_TITLE = r"^[ -\[\]-~]{1,16}$"


class DicomDestination(BaseModel):
    """A DICOM Storage SCP (the hospital's PACS): its AE title at host:port."""

    model_config = {"frozen": True}

    ae_title: str = Field(pattern=AE_TITLE)
    host: str = Field(min_length=1, max_length=255)
    port: int = Field(gt=0, lt=65536)


class FhirDestination(BaseModel):
    """A FHIR R4 server (the hospital's HIS) taking transaction Bundles at its base URL."""

    model_config = {"frozen": True}

    base_url: str = Field(pattern=r"^https?://", max_length=2048)
