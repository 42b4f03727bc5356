"""Building an auditor's disclosure report: filtered entries, the whole log verified.

The filter narrows what is listed, never what is verified: the hash chain is recomputed
over every entry and each head anchored on chain is compared with the entry at its count,
so a report for one record still proves no read of any record was hidden or rewritten up
to the last anchor.
"""

from __future__ import annotations

from collections.abc import Sequence

from gateway.audit.disclosure_model import (
    AnchorOut,
    DisclosureRead,
    DisclosureReport,
    VerificationOut,
)
from gateway.audit.model import Trace
from gateway.disclosure.abc import AnchoredHead, DisclosureLogAPI, Filter, HeadAnchorAPI
from gateway.disclosure.verify import verify


def report(*, hospital: str, log: DisclosureLogAPI, chain: HeadAnchorAPI | None,
           where: Filter) -> DisclosureReport:  # fmt: skip
    """The report for ``where``; anchors read from ``chain`` (none when it is ``None``)."""
    anchors: Sequence[AnchoredHead] = chain.anchored() if chain is not None else []
    entries = log.entries()
    listed = log.entries(where) if where != Filter() else entries
    return DisclosureReport(
        hospital=hospital,
        verification=VerificationOut.of(verify(entries, anchors)),
        anchors=[AnchorOut.of(a) for a in anchors],
        entries=[DisclosureRead.of(e) for e in listed],
    )


def grant_hex(grant: int) -> str:
    """The log's form of a chain grant id (the uint256 as 32 big-endian bytes, hex)."""
    return grant.to_bytes(32, "big").hex()


def with_reads(trace: Trace, log: DisclosureLogAPI | None) -> Trace:
    """``trace`` with the reads this gateway served of its subject (unchanged without a log).

    A record's reads are those of the record and its versions (a DICOM study's instances
    name the study record); a grant's, those under it; a case's, those under any grant
    its events name (the log holds no case id: grants are what scope a read).
    """
    if log is None:
        return trace
    if trace.subject == "record":
        records = {trace.id, *trace.versions}
        entries = [e for r in sorted(records) for e in log.entries(Filter(record=r[2:].lower()))]
    else:
        named = {int(e.args["grantId"]) for e in trace.events if "grantId" in e.args}
        grants = {int(trace.id)} if trace.subject == "grant" else named
        entries = [e for g in sorted(grants) for e in log.entries(Filter(grant=grant_hex(g)))]
    reads = [DisclosureRead.of(e) for e in sorted(entries, key=lambda e: e.seq)]
    return trace.model_copy(update={"reads": reads})
