"""The trace an auditor gets: ordered chain events plus the checks made on them (JSON-ready).

No PHI can appear here: every field comes from chain events (which hold ids, salted
commitments, CIDs of ciphertext and chain addresses) or from checks on ciphertext blobs.
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, computed_field

from gateway.audit.disclosure_model import DisclosureRead

Subject = Literal["record", "case", "grant"]


class TraceEvent(BaseModel):
    """One chain event, with everything needed to check it against any node."""

    model_config = ConfigDict(frozen=True)

    kind: str = Field(description="Event name, e.g. RecordAnchored, AccessRedeemed.")
    contract: str = Field(description="Emitting suite contract (Anchors, Referrals, Grants).")
    address: str = Field(description="Emitting contract's address.")
    block: int = Field(ge=0)
    block_hash: str
    tx: str = Field(description="Transaction hash.")
    log_index: int = Field(ge=0)
    time: datetime = Field(description="Block timestamp (UTC).")
    actor: str = Field(description="Sender of the transaction (the account that signed it).")
    args: dict[str, Any] = Field(description="Decoded event arguments (hex for bytes).")
    summary: str = Field(description="One line for people.")


class CiphertextStatus(enum.StrEnum):
    OK = "ok"
    MISSING = "missing"
    CORRUPTED = "corrupted"
    INVALID_CID = "invalid_cid"
    #: The blob is intact but is not the batch manifest its anchor says (root or count).
    MISMATCH = "mismatch"


class CiphertextCheck(BaseModel):
    """Whether an anchored CID still fetches from the blob store with every block verified."""

    model_config = ConfigDict(frozen=True)

    cid: str
    anchored_by: str = Field(
        description="The anchor's event kind and block: where the CID is from."
    )
    subject: str = Field(description="Record id (single anchor) or batch root (manifest).")
    status: CiphertextStatus
    size: int | None = Field(default=None, description="Bytes read when the blob is whole.")
    detail: str = ""


class ProofCheck(BaseModel):
    """The caller's inclusion proof for the record, checked against chain events."""

    model_config = ConfigDict(frozen=True)

    root: str = Field(description="Batch root (or single-anchor commitment) the proof implies.")
    matches: bool = Field(description="Whether that value is anchored on chain for this record.")
    batch_tx: str | None = None
    batch_block: int | None = None
    detail: str = ""


class Trace(BaseModel):
    """The story of one record, case or grant, oldest event first."""

    model_config = ConfigDict(frozen=True)

    subject: Subject
    id: str
    head_block: int = Field(description="Latest block when the trace was read.")
    events: list[TraceEvent]
    versions: list[str] = Field(
        default_factory=list, description="Record ids of the version chain, oldest first."
    )
    parties: dict[str, str] = Field(
        default_factory=dict,
        description="Who each address is (hospital name and tier, staff role), from chain events.",
    )
    proof: ProofCheck | None = None
    ciphertext: list[CiphertextCheck] | None = Field(
        default=None, description="Absent when no blob store was given."
    )
    reads: list[DisclosureRead] | None = Field(
        default=None,
        description="The reads this gateway served of the subject (its disclosure log); "
        "absent when the trace comes from the chain alone.",
    )

    @computed_field  # type: ignore[prop-decorator]  # pydantic's documented idiom
    @property
    def checks_ok(self) -> bool:
        """False when any checked CID is missing, corrupted or invalid (or a proof fails)."""
        blobs_ok = all(c.status is CiphertextStatus.OK for c in self.ciphertext or [])
        return blobs_ok and (self.proof is None or self.proof.matches)
