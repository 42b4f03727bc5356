"""The disclosure log as an auditor receives it: entries and their verification (JSON-ready)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from gateway.disclosure.abc import AnchoredHead
from gateway.disclosure.entry import Entry
from gateway.disclosure.verify import Verification


class DisclosureRead(BaseModel):
    """One read the gateway served (ids only: no UID in clear, no name, no identifier)."""

    model_config = ConfigDict(frozen=True)

    seq: int = Field(ge=1, description="Position in the hash chain (1-based).")
    at_ms: int = Field(description="When it was served, ms since the epoch.")
    physician: str = Field(description="The physician's chain account.")
    kind: str = Field(description="record|instance|frame|rendered|bulkdata|metadata|search|push")
    grant: str = Field(description="Grant id (32-byte hex).")
    record: str = Field(description="Record id (hex; the study record for DICOM).")
    instance: str = Field(description="SHA-256(tag, grant, SOP Instance UID), or empty.")
    size: int = Field(ge=0, description="Bytes served.")
    prev: str = Field(description="Hash of the previous entry.")
    hash: str = Field(description="SHA-256(prev || canonical entry).")

    @classmethod
    def of(cls, entry: Entry) -> DisclosureRead:
        return cls(**{name: getattr(entry, name) for name in cls.model_fields})


class AnchorOut(BaseModel):
    head: str
    count: int
    seq: int
    block: int
    tx: str
    operator: str

    @classmethod
    def of(cls, anchor: AnchoredHead) -> AnchorOut:
        return cls(head=anchor.head.hex(), count=anchor.count, seq=anchor.seq,
                   block=anchor.block, tx=anchor.tx, operator=anchor.operator)  # fmt: skip


class VerificationOut(BaseModel):
    ok: bool = Field(description="The chain is whole and every anchored head matches.")
    count: int = Field(description="Entries in the log.")
    head: str = Field(description="Hash of the last entry.")
    chain_ok: bool = Field(description="Every entry's hash and link recomputes.")
    anchors_checked: int
    anchored_count: int = Field(description="Entries covered by the latest anchor.")
    problems: list[str]

    @classmethod
    def of(cls, v: Verification) -> VerificationOut:
        return cls(ok=v.ok, count=v.count, head=v.head, chain_ok=v.chain_ok,
                   anchors_checked=v.anchors_checked, anchored_count=v.anchored_count,
                   problems=list(v.problems))  # fmt: skip


class DisclosureReport(BaseModel):
    """The entries asked for, and the verification of the *whole* log against the chain."""

    hospital: str
    verification: VerificationOut
    anchors: list[AnchorOut]
    entries: list[DisclosureRead]
