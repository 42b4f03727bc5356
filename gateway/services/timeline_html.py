"""The auditor's case page: a server-rendered timeline, one self-contained HTML document.

No script and no external asset (the page must render on an isolated regulator's
workstation and under ``Content-Security-Policy: default-src 'none'``).
"""

from __future__ import annotations

from html import escape

from gateway.timeline import Timeline, TimelineEvent

BACKGROUND = "#f4f3ef"
#: Marker colour per event family (first name fragment found wins: revocations first, so
#: ``GrantRevoked`` is red, not grant-green), so a glance tells the story.
COLOURS = (
    ("Revok", "#c0262d"),
    ("Referral", "#1f5fbf"),
    ("Grant", "#1a7f37"),
    ("Access", "#b35900"),
    ("Anchor", "#7140c9"),
)
OTHER = "#57606a"

CSS = f"""
body {{ background: {BACKGROUND}; color: #1b1f24; margin: 0; padding: 24px 32px;
  font: 15px/1.4 "DejaVu Sans", "Liberation Sans", sans-serif; }}
h1 {{ font-size: 22px; margin: 0 0 4px; }}
.case {{ font-family: "DejaVu Sans Mono", monospace; font-size: 13px; color: #444; }}
.summary {{ margin: 8px 0 20px; }}
ol#timeline {{ list-style: none; margin: 0; padding: 0 0 0 28px;
  border-left: 4px solid #c9c6bd; background: #ffffff; }}
li.event {{ position: relative; padding: 10px 14px 12px; border-bottom: 1px solid #e6e3da; }}
li.event .dot {{ position: absolute; left: -42px; top: 12px; width: 22px; height: 22px;
  border-radius: 50%; border: 3px solid #ffffff; }}
.kind {{ font-weight: bold; font-size: 16px; }}
.meta {{ font-family: "DejaVu Sans Mono", monospace; font-size: 12px; color: #333; }}
.detail {{ margin-top: 2px; }}
"""


def _colour(kind: str) -> str:
    return next((c for fragment, c in COLOURS if fragment in kind), OTHER)


def _event(event: TimelineEvent) -> str:
    colour = _colour(event.kind)
    when = event.time.strftime("%Y-%m-%d %H:%M:%S UTC")
    return (
        f'<li class="event" data-kind="{escape(event.kind)}">'
        f'<span class="dot" style="background:{colour}"></span>'
        f'<div class="kind" style="color:{colour}">{escape(event.kind)}</div>'
        f'<div class="meta">{escape(when)} · block {event.block} · '
        f'tx <span title="{escape(event.tx)}">{escape(event.tx[:18])}…</span> · '
        f"by {escape(event.actor)}</div>"
        + (f'<div class="detail">{escape(event.detail)}</div>' if event.detail else "")
        + "</li>"
    )


def render(timeline: Timeline) -> str:
    """The whole page for ``timeline``."""
    count = len(timeline.events)
    if timeline.events:
        first, last = timeline.events[0].time, timeline.events[-1].time
        span = f"{count} events from {first:%Y-%m-%d %H:%M} to {last:%Y-%m-%d %H:%M} UTC"
    else:
        span = "no events"
    items = "\n".join(_event(e) for e in timeline.events)
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>Case {escape(timeline.case[:12])}… · medledger audit</title>"
        f"<style>{CSS}</style></head><body>"
        "<h1>Case timeline</h1>"
        f'<div class="case">{escape(timeline.case)}</div>'
        f'<p class="summary">{escape(span)}, rebuilt from chain events.</p>'
        f'<ol id="timeline">\n{items}\n</ol></body></html>\n'
    )
