"""The auditor's browser sign-in pages: plain HTML forms, no script, no external asset.

A browser has no auditor key, so the page shows the challenge text for the auditor to sign
with their registered key (EIP-191 ``personal_sign``, what every Ethereum wallet and
``eth_account`` do) and takes the signature back in a form. The session then rides in an
``HttpOnly``, ``SameSite=Strict`` cookie scoped to ``/audit``.
"""

from __future__ import annotations

from html import escape

from gateway.services.timeline_html import BACKGROUND

#: Forms may post back to us, nowhere else; still no script and no external asset.
CSP = "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'self'"
_CSS = f"""
body {{ background: {BACKGROUND}; color: #1b1f24; margin: 0; padding: 24px 32px;
  font: 15px/1.4 "DejaVu Sans", "Liberation Sans", sans-serif; }}
form {{ background: #ffffff; padding: 16px; max-width: 760px; }}
input, textarea {{ font-family: "DejaVu Sans Mono", monospace; width: 100%; }}
pre {{ background: #ffffff; padding: 12px; white-space: pre-wrap; max-width: 760px; }}
"""


def _page(title: str, body: str) -> str:
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{escape(title)} · medledger audit</title><style>{_CSS}</style></head>"
        f"<body><h1>{escape(title)}</h1>{body}</body></html>\n"
    )


def address_form(*, next_path: str) -> str:
    """Step 1: the auditor's address."""
    return _page("Auditor sign-in", (
        "<p>Read-only access to case timelines rebuilt from chain events. Your key must be "
        "registered as an auditor in the Consortium contract.</p>"
        '<form method="post" action="/audit/signin">'
        '<label>Auditor address <input name="address" id="address" required '
        'pattern="0x[0-9a-fA-F]{40}"></label>'
        f'<input type="hidden" name="next" value="{escape(next_path)}">'
        '<p><button type="submit" id="continue">Continue</button></p></form>'
    ))  # fmt: skip


def signature_form(*, address: str, nonce: str, message: str, next_path: str) -> str:
    """Step 2: the challenge to sign, and where to paste the signature."""
    return _page("Sign the challenge", (
        "<p>Sign this text with your auditor key (EIP-191 personal_sign) and paste the "
        "65-byte signature (0x…) below. It sends no transaction.</p>"
        f'<pre id="message">{escape(message)}</pre>'
        '<form method="post" action="/audit/signin/session">'
        f'<input type="hidden" name="address" value="{escape(address)}">'
        f'<input type="hidden" name="nonce" value="{escape(nonce)}">'
        f'<input type="hidden" name="next" value="{escape(next_path)}">'
        '<label>Signature <textarea name="signature" id="signature" rows="3" required>'
        "</textarea></label>"
        '<p><button type="submit" id="sign-in">Sign in</button></p></form>'
    ))  # fmt: skip


def signed_in_page(*, auditor: str) -> str:
    """Where a sign-in without a case to return to lands."""
    return _page("Signed in", (
        f"<p>Signed in as auditor {escape(auditor)}. Open a case's timeline at "
        "/audit/cases/0x&lt;case id&gt;.</p>"
    ))  # fmt: skip
