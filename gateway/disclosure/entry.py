"""One disclosure entry, its canonical bytes and its place in the hash chain.

``hash = SHA-256(prev_hash || canonical entry)``, where the canonical entry is JSON with
sorted keys and no whitespace over every field except ``hash``. The first entry's
``prev_hash`` is 32 zero bytes. Entries name ids only: the physician's chain account, the
grant and record ids (random), and for DICOM a *hashed* SOP Instance UID
(:func:`instance_ref`) — never a UID in clear, a name or a patient identifier.
"""

from __future__ import annotations

import enum
import hashlib
import json
from dataclasses import asdict, dataclass

GENESIS = b"\x00" * 32


class Kind(enum.StrEnum):
    """What was served."""

    RECORD = "record"
    INSTANCE = "instance"
    FRAME = "frame"
    RENDERED = "rendered"
    BULKDATA = "bulkdata"
    #: An instance header as DICOM JSON (it names the patient as much as the pixels do).
    METADATA = "metadata"
    #: A QIDO-RS answer (it names patients and studies): one entry per grant and study
    #: record it drew on, ``size`` the number of results from that record, not bytes.
    SEARCH = "search"
    PUSH = "push"


def instance_ref(grant: bytes, sop_uid: str) -> bytes:
    """A SOP Instance UID as the log names it: SHA-256 under a domain tag and the grant id.

    UIDs often embed an organisation root and a timestamp, so they are not kept in clear.
    Hashed with the grant id, the same instance read under two grants is not linkable from
    the log alone; an auditor who holds the study recomputes the reference to match it.
    """
    tag = b"medledger/disclosure/instance/v1\x00"
    return hashlib.sha256(tag + grant + sop_uid.encode("ascii")).digest()


@dataclass(frozen=True, slots=True)
class Served:
    """What a read route reports: one item served (before its bytes go out)."""

    kind: Kind
    grant: bytes
    record: bytes | None
    instance: bytes | None
    size: int


@dataclass(frozen=True, slots=True)
class Entry:
    """One accounted read, as stored and chained."""

    seq: int
    at_ms: int
    physician: str
    kind: str
    grant: str
    record: str
    instance: str
    size: int
    prev: str
    hash: str

    def canonical(self) -> bytes:
        """The bytes the entry hash covers (every field but ``hash``)."""
        fields = asdict(self)
        del fields["hash"]
        return json.dumps(fields, sort_keys=True, separators=(",", ":")).encode()

    def expected_hash(self) -> str:
        """What ``hash`` must be given ``prev`` and the other fields."""
        return chain_hash(bytes.fromhex(self.prev), self.canonical()).hex()


def chain_hash(prev: bytes, canonical: bytes) -> bytes:
    return hashlib.sha256(prev + canonical).digest()


def make_entry(*, seq: int, at_ms: int, physician: str, served: Served, prev: bytes) -> Entry:
    """The next entry of the chain after ``prev``, its hash computed."""
    draft = Entry(
        seq=seq, at_ms=at_ms, physician=physician, kind=served.kind.value,
        grant=served.grant.hex(), record=(served.record or b"").hex(),
        instance=(served.instance or b"").hex(), size=served.size, prev=prev.hex(), hash="",
    )  # fmt: skip
    return Entry(**{**asdict(draft), "hash": chain_hash(prev, draft.canonical()).hex()})
