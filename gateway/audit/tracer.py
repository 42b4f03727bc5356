"""Rebuild the story of a record, case or grant from chain events alone.

Every event the suite emits about a case carries the case id as an indexed topic, so a case
is two ``eth_getLogs`` queries (the case id sits at topic 2 or 3 depending on the event). A
record's story is its version chain plus the referrals, grants, redemptions, revocations
and break-glass uses of its case (access is granted per case). A record anchored only in a
batch is invisible on chain without its inclusion proof: the proof yields the batch root,
whose ``BatchAnchored`` event is then looked up.
"""

from __future__ import annotations

from collections.abc import Iterable

from gateway.audit.errors import UnknownSubject
from gateway.audit.event import ChainEvent
from gateway.audit.events import EventReader
from gateway.audit.model import ProofCheck, Subject, Trace, TraceEvent
from gateway.audit.parties import describe_parties
from gateway.audit.summary import summarize
from gateway.audit.versions import version_chain
from node.exceptions import ProofMismatch
from node.proof.record import RecordProof

CASE_AT_TOPIC2 = (
    "ReferralInitiated", "ReferralAccepted", "ReferralDeclined", "ReferralCompleted",
    "ReferralCancelled", "AccessRedeemed", "GrantRevoked", "BreakGlassAccess",
    "BreakGlassReviewed",
)  # fmt: skip
CASE_AT_TOPIC3 = ("RecordAnchored", "GrantIssued", "ReferredBack")
GRANT_AT_TOPIC1 = (
    "GrantIssued", "BreakGlassAccess", "AccessRedeemed", "GrantRevoked", "BreakGlassReviewed",
)  # fmt: skip
REFERRAL_AT_TOPIC1 = (
    "ReferralInitiated", "ReferralAccepted", "ReferralDeclined", "ReferralCompleted",
    "ReferralCancelled", "ReferredBack",
)  # fmt: skip


def _hex(value: bytes) -> str:
    return "0x" + value.hex()


def review_status(grant: object, events: Iterable[ChainEvent]) -> str:
    """``break-glass: pending review`` or ``... reviewed (justified|not justified)``."""
    review = next(
        (e for e in events
         if e.name == "BreakGlassReviewed" and str(e.args["grantId"]) == str(grant)),
        None,
    )  # fmt: skip
    if review is None:
        return "break-glass: pending review"
    verdict = "justified" if review.args["justified"] else "not justified"
    return f"break-glass: reviewed ({verdict})"


def to_trace_event(event: ChainEvent, status: str | None = None) -> TraceEvent:
    summary = summarize(event.name, event.args)
    return TraceEvent(
        kind=event.name,
        contract=event.contract,
        address=event.address,
        block=event.block_number,
        block_hash=event.block_hash,
        tx=event.tx_hash,
        log_index=event.log_index,
        time=event.time,
        actor=event.actor,
        args=dict(event.args),
        summary=summary if status is None else f"{summary}; {status}",
    )


def _addresses(events: Iterable[ChainEvent]) -> set[str]:
    found: set[str] = set()
    for event in events:
        found.add(event.actor)
        found.update(
            str(v)
            for v in event.args.values()
            if isinstance(v, str) and len(v) == 42 and v[:2] == "0x"
        )
    return found


class Tracer:
    """The three traces, over one :class:`EventReader`."""

    def __init__(self, reader: EventReader) -> None:
        self.reader = reader

    def _trace(
        self, subject: Subject, ident: str, head: int, events: Iterable[ChainEvent],
        **extra: object,
    ) -> Trace:  # fmt: skip
        ordered = sorted(events, key=lambda e: e.order)
        return Trace(
            subject=subject,
            id=ident,
            head_block=head,
            events=[
                to_trace_event(
                    e,
                    review_status(e.args["grantId"], ordered)
                    if e.name == "BreakGlassAccess"
                    else None,
                )
                for e in ordered
            ],
            parties=describe_parties(self.reader, _addresses(ordered), head=head),
            **extra,  # type: ignore[arg-type]
        )

    # -- cases ------------------------------------------------------------------------

    def case_events(self, case: bytes, *, head: int) -> list[ChainEvent]:
        """Every suite event about ``case`` up to block ``head``, in chain order."""
        found = self.reader.query(CASE_AT_TOPIC2, topics={2: case}, to_block=head)
        found += self.reader.query(CASE_AT_TOPIC3, topics={3: case}, to_block=head)
        return sorted(found, key=lambda e: e.order)

    def trace_case(self, case: bytes) -> Trace:
        """Anchors, referrals, grants, redemptions, revocations and break-glass of ``case``.

        Raises
        ------
        UnknownSubject
            No event names this case.
        """
        head = self.reader.head()
        events = self.case_events(case, head=head)
        if not events:
            raise UnknownSubject(f"the chain has no event about case {_hex(case)}")
        return self._trace("case", _hex(case), head, events)

    # -- grants -----------------------------------------------------------------------

    def trace_grant(self, grant: int) -> Trace:
        """The grant's issue (or break-glass), redemptions, revocation, and its referral.

        Raises
        ------
        UnknownSubject
            The grant was never issued.
        """
        head = self.reader.head()
        events = self.reader.query(GRANT_AT_TOPIC1, topics={1: grant}, to_block=head)
        origin = next((e for e in events if e.name in ("GrantIssued", "BreakGlassAccess")), None)
        if origin is None:
            raise UnknownSubject(f"the chain has no grant #{grant}")
        if origin.name == "GrantIssued":
            referral = int(origin.args["referralId"])
            events += self.reader.query(REFERRAL_AT_TOPIC1, topics={1: referral}, to_block=head)
        return self._trace("grant", str(grant), head, events)

    # -- records ----------------------------------------------------------------------

    def trace_record(self, record: bytes, *, proof: RecordProof | None = None) -> Trace:
        """A record's anchor(s): its version chain and its case's story, or its batch.

        Parameters
        ----------
        record
            The 32-byte record id.
        proof
            The record's inclusion proof, when the caller holds it: required for a record
            anchored only in a batch, checked against the single anchor otherwise.

        Raises
        ------
        UnknownSubject
            Neither a single anchor nor (with a proof) a batch anchor is on chain.
        """
        head = self.reader.head()
        if proof is not None and proof.record_id != record:
            raise UnknownSubject("the proof given is for another record")
        own = self.reader.query(("RecordAnchored",), topics={1: record}, to_block=head)
        if own:
            return self._single(record, own[0], proof, head)
        if proof is None:
            raise UnknownSubject(
                f"record {_hex(record)} has no single anchor; a batched record is traced "
                "with its inclusion proof"
            )
        return self._batched(record, proof, head)

    def _single(
        self, record: bytes, anchor: ChainEvent, proof: RecordProof | None, head: int
    ) -> Trace:
        case = bytes.fromhex(str(anchor.args["caseId"])[2:])
        case_events = self.case_events(case, head=head)
        anchors = {str(e.args["recordId"]): e for e in case_events if e.name == "RecordAnchored"}
        versions = version_chain(_hex(record), anchors)
        story = [e for e in case_events if e.name != "RecordAnchored"]
        story += [anchors[v] for v in versions]
        check = None
        if proof is not None:
            commitment = _hex(proof.commitment())
            matches = commitment == anchor.args["commitment"]
            check = ProofCheck(
                root=commitment,
                matches=matches,
                batch_tx=anchor.tx_hash,
                batch_block=anchor.block_number,
                detail="commitment matches the single anchor"
                if matches
                else "the proof's commitment differs from the one anchored",
            )
        return self._trace("record", _hex(record), head, story, versions=versions, proof=check)

    def _batched(self, record: bytes, proof: RecordProof, head: int) -> Trace:
        try:
            root = proof.batch_root()
        except ProofMismatch as exc:
            raise UnknownSubject(f"the proof is inconsistent: {exc}") from exc
        batch = self.reader.query(("BatchAnchored",), topics={1: root}, to_block=head)
        if not batch:
            raise UnknownSubject(
                f"record {_hex(record)}: its proof's batch root {_hex(root)} is not anchored"
            )
        found = batch[0]
        claimed = proof.anchor
        matches = claimed is None or (
            _hex(claimed.tx_hash) == found.tx_hash and claimed.block_number == found.block_number
        )
        check = ProofCheck(
            root=_hex(root),
            matches=matches,
            batch_tx=found.tx_hash,
            batch_block=found.block_number,
            detail="proof leads to the anchored batch root"
            if matches
            else "the proof names another anchor transaction than the one on chain",
        )
        return self._trace("record", _hex(record), head, [found], proof=check)
