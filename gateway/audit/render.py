"""A trace as rich renderables for the terminal (the CLI's default output)."""

from __future__ import annotations

from rich.console import Console, Group, RenderableType
from rich.table import Table
from rich.text import Text

from gateway.audit.model import CiphertextStatus, Trace

STYLES = (
    ("BreakGlass", "bold red"),
    ("Revok", "red"),
    ("Referr", "blue"),
    ("Grant", "green"),
    ("Access", "yellow"),
    ("Anchored", "magenta"),
)


def _style(kind: str) -> str:
    return next((style for fragment, style in STYLES if fragment in kind), "")


def timeline(trace: Trace) -> Group:
    """One entry per event: a header line (when, where, what, who) and the summary under it.

    Lines rather than a table, so long addresses and summaries wrap instead of folding
    inside narrow columns on an 80-column terminal.
    """
    title = Text(f"{trace.subject} {trace.id} — {len(trace.events)} events, chain head "
                 f"{trace.head_block}", style="bold")  # fmt: skip
    entries: list[RenderableType] = [title]
    for i, event in enumerate(trace.events, 1):
        head = Text(f"{i:>3}. {event.time:%Y-%m-%d %H:%M:%S} UTC  block {event.block}  ")
        head.append(event.kind, style=_style(event.kind) or "bold")
        entries.append(head)
        entries.append(Text(f"     {event.summary}"))
        who = trace.parties.get(event.actor)
        by = f"{event.actor} ({who})" if who else event.actor
        entries.append(Text(f"     by {by}  tx {event.tx}", style="dim"))
    return Group(*entries)


def checks(trace: Trace) -> list[RenderableType]:
    parts: list[RenderableType] = []
    if trace.parties:
        parts.append(Text("parties:", style="bold"))
        parts += [Text(f"  {a}  {who}") for a, who in sorted(trace.parties.items())]
    if trace.versions:
        parts.append(Text("versions: " + " → ".join(v[:12] + "…" for v in trace.versions)))
    if trace.proof is not None:
        style = "green" if trace.proof.matches else "bold red"
        parts.append(Text(f"proof: {trace.proof.detail} (root {trace.proof.root})", style=style))
    if trace.ciphertext is not None:
        table = Table(title="ciphertext check (every block re-hashed)")
        for column in ("cid", "anchored by", "status", "detail"):
            table.add_column(column, overflow="fold")
        for check in trace.ciphertext:
            ok = check.status is CiphertextStatus.OK
            table.add_row(
                check.cid, check.anchored_by,
                Text(check.status.value, style="green" if ok else "bold red"),
                f"{check.size} bytes" if ok else check.detail,
            )  # fmt: skip
        parts.append(table)
    if trace.reads is not None:
        parts.append(Text(f"reads served (disclosure log): {len(trace.reads)}", style="bold"))
        parts += [Text(f"  #{r.seq} {r.at_ms} ms  {r.kind:<9} by {r.physician}  "
                       f"grant {r.grant[:12]}…  {r.size} bytes") for r in trace.reads]  # fmt: skip
    return parts


def print_trace(console: Console, trace: Trace) -> None:
    console.print(Group(timeline(trace), *checks(trace)))
