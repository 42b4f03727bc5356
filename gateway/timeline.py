"""The auditor's view of a case: chain events in order (no PHI: the chain holds none)."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

_HEX32 = r"^0x[0-9a-f]{64}$"
_ADDRESS = r"^0x[0-9a-fA-F]{40}$"


class TimelineEvent(BaseModel):
    """One chain event about a case (an emitted log), as an auditor reads it."""

    model_config = ConfigDict(frozen=True)

    kind: str = Field(description="Event name, e.g. ReferralInitiated, AccessRedeemed.")
    block: int = Field(ge=0, description="Block number of the transaction.")
    tx: str = Field(pattern=_HEX32, description="Transaction hash.")
    actor: str = Field(pattern=_ADDRESS, description="Account that sent the transaction.")
    time: datetime = Field(description="Block timestamp (UTC).")
    detail: str = Field(default="", description="Short human summary of the event's fields.")


class Timeline(BaseModel):
    """A case's events, oldest first."""

    model_config = ConfigDict(frozen=True)

    case: str = Field(pattern=_HEX32, description="The case id.")
    events: list[TimelineEvent]
