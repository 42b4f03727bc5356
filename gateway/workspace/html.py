"""The workspace's page shell, sign-in page and inbox: server-rendered, our scripts only.

Every page is whole on arrival (no client-side rendering of content); the scripts only
sign (sign-in, redemption) and draw the study. The policy allows our own scripts and
same-origin requests, nothing else: no CDN, no inline script, no form posting elsewhere.
"""

from __future__ import annotations

from datetime import UTC, datetime
from html import escape

from gateway.domain import InboxEntry
from gateway.services.timeline_html import BACKGROUND

CSP = (
    "default-src 'none'; script-src 'self'; connect-src 'self'; style-src 'unsafe-inline'; "
    "img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)
CSS = f"""
body {{ background: {BACKGROUND}; color: #1b1f24; margin: 0; padding: 20px 32px;
  font: 15px/1.4 "DejaVu Sans", "Liberation Sans", sans-serif; }}
h1 {{ font-size: 22px; margin: 0 0 8px; }}
nav {{ margin-bottom: 12px; font-size: 13px; }}
.mono {{ font-family: "DejaVu Sans Mono", monospace; font-size: 12px; }}
.panel {{ background: #ffffff; padding: 14px 16px; max-width: 1080px; margin-bottom: 12px; }}
table {{ border-collapse: collapse; background: #ffffff; }}
th, td {{ text-align: left; padding: 6px 10px; border-bottom: 1px solid #e6e3da; }}
button {{ background: #1f5fbf; color: #ffffff; border: 0; padding: 6px 14px; font-size: 14px; }}
button:disabled {{ background: #8c959f; }}
#status {{ min-height: 1.4em; }}
#status.refused {{ color: #c0262d; }}
.badge {{ display: inline-block; padding: 2px 8px; border-radius: 10px; font-size: 12px;
  color: #ffffff; background: #1a7f37; }}
.badge.unverified {{ background: #c0262d; }}
"""


def page(title: str, body: str, *, scripts: tuple[str, ...] = ()) -> str:
    """A whole document: ``body`` under ``title``, with our static ``scripts`` (by name)."""
    tags = "".join(f'<script src="/workspace/static/{escape(s)}"></script>' for s in scripts)
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{escape(title)} · medledger workspace</title><style>{CSS}</style>{tags}"
        f"</head><body><h1>{escape(title)}</h1>{body}</body></html>\n"
    )


def nav() -> str:
    return ('<nav><a href="/workspace/inbox">Inbox</a> · '
            '<a href="/workspace" id="sign-out">Sign in again</a></nav>')  # fmt: skip


def signin_page(*, next_path: str) -> str:
    """Load the keystore file and type its passphrase; the page does the rest.

    Then it goes to ``next_path`` (checked by the route: a workspace page).
    """
    return page("Physician sign-in", (
        '<div class="panel"><p>Load your encrypted key file (Ethereum keystore v3 JSON) and '
        "type its passphrase. The key is decrypted in this browser only: neither the file "
        "nor the passphrase is sent to the gateway. The page signs the gateway's sign-in "
        "challenge with it (it sends no transaction).</p>"
        '<p><label>Key file <input type="file" id="keystore" accept=".json,application/json">'
        '</label></p><p><label>Passphrase <input type="password" id="passphrase" '
        'autocomplete="off"></label></p>'
        f'<p><button type="button" id="sign-in" data-next="{escape(next_path)}">Sign in'
        "</button></p>"
        '<p id="status" role="status"></p></div>'
    ), scripts=("ethers.js", "common.js", "signin.js"))  # fmt: skip


def _date(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%d %H:%M UTC")


def _row(entry: InboxEntry, *, now: float) -> str:
    grant, case = "0x" + entry.grant_id.hex(), "0x" + entry.case_id.hex()
    live = not entry.revoked and now < entry.expiry and entry.uses_left > 0
    state = ("revoked" if entry.revoked else "expired" if now >= entry.expiry
             else "used up" if entry.uses_left <= 0 else "live")  # fmt: skip
    button = (f'<button type="button" class="open" data-grant="{grant}" data-case="{case}" '
              f'data-token="{escape(entry.token or "")}">Open</button>'
              if live and entry.token else "")  # fmt: skip
    return (
        f'<tr class="grant" data-grant="{grant}" data-state="{state}">'
        f"<td>{escape(entry.grantor_name)}"
        f'<div class="mono">referral #{entry.referral_id}</div></td>'
        f'<td class="reason">{entry.reason_code}</td>'
        f'<td class="expiry">{_date(entry.expiry)}</td>'
        f'<td class="uses">{entry.uses_left} of {entry.max_uses}</td>'
        f"<td>{'you by name' if entry.physician else 'your hospital'}</td>"
        f'<td class="state">{state}</td>'
        f'<td><a class="mono" href="/workspace/cases/{case}">{case[:14]}…</a></td>'
        f"<td>{button}</td></tr>"
    )


def inbox_page(*, physician: str, entries: list[InboxEntry], now: float) -> str:
    """Incoming grants, newest delivery first, each with its Open button while live."""
    rows = "\n".join(_row(e, now=now) for e in entries)
    empty = "" if entries else '<p id="empty">No grant has been delivered to you yet.</p>'
    return page("Inbox", (
        f'{nav()}<p>Signed in as <span class="mono" id="physician">{escape(physician)}</span>. '
        "Opening a grant uses one of its uses: you sign the opening with your key (the "
        "passphrase is asked again; the decrypted key is never kept).</p>"
        '<p><label>Passphrase <input type="password" id="passphrase" autocomplete="off">'
        '</label></p><p id="status" role="status"></p>'
        '<table id="inbox"><thead><tr><th>From</th><th>Reason</th><th>Expires</th>'
        "<th>Uses left</th><th>Granted to</th><th>State</th><th>Case</th><th></th></tr>"
        f"</thead><tbody>\n{rows}\n</tbody></table>{empty}"
    ), scripts=("ethers.js", "common.js", "inbox.js"))  # fmt: skip
