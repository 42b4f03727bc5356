"""``medledger node`` commands for referrals and grants: a thin client of the node's HTTP API.

The running node holds the keys, the chain client and the follower; these commands ask it
over its operator API (``--api``, default ``$MEDLEDGER_NODE_API``) with the operator token
from ``$MEDLEDGER_NODE_API_TOKEN``, like any hospital system would; an ``https`` API is
trusted through the consortium CA named by ``$MEDLEDGER_NODE_API_CA`` (``tls/ca.pem`` of
the hospital directory), never the system roots. ``--json`` prints the
API's answer for scripts; errors go to stderr with a non-zero exit code (1: refused by the
node or the contract; 2: bad input or node unreachable).
"""

from __future__ import annotations

import json
import os
import re
import ssl
import time
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

import httpx
import typer
from rich.console import Console
from rich.table import Table

from common.tls import TLSConfigError, client_context
from node.cases.ids import parse_address, parse_case_id, parse_record_id
from node.exceptions import InvalidCaseInput

DEFAULT_API = "http://127.0.0.1:8600"
TOKEN_ENV = "MEDLEDGER_NODE_API_TOKEN"
CA_ENV = "MEDLEDGER_NODE_API_CA"
_RELATIVE = re.compile(r"^\+(\d+)([smhd])$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}

Api = Annotated[str, typer.Option("--api", envvar="MEDLEDGER_NODE_API", help="node API URL")]
Json = Annotated[bool, typer.Option("--json", help="print the result as JSON")]
Expires = Annotated[
    str, typer.Option("--expires", help="+30m, +12h, +7d, unix seconds or ISO 8601 with zone")
]
Reason = Annotated[int, typer.Option("--reason", min=0, max=65535, help="reason code")]


def parse_expiry(text: str, *, now: float | None = None) -> int:
    """An expiry as typed, as unix seconds; refuses the past and naive datetimes."""
    now = time.time() if now is None else now
    if m := _RELATIVE.match(text.strip()):
        value = int(now) + int(m.group(1)) * _UNITS[m.group(2)]
    elif text.strip().isdigit():
        value = int(text.strip())
    else:
        try:
            moment = datetime.fromisoformat(text.strip())
        except ValueError:
            raise typer.BadParameter(f"not an expiry: {text!r} (try +7d)") from None
        if moment.tzinfo is None:
            raise typer.BadParameter("give the time zone (e.g. 2026-12-01T12:00:00+08:00)")
        value = int(moment.timestamp())
    if value <= now:
        raise typer.BadParameter("the expiry must be in the future")
    return value


def _checked(parse: Any, text: str, *args: str) -> Any:
    try:
        return parse(text, *args)
    except InvalidCaseInput as exc:
        raise typer.BadParameter(str(exc)) from None


def _fail(message: str, code: int) -> typer.Exit:
    Console(stderr=True).print(f"[red]error:[/red] {message}", highlight=False)
    return typer.Exit(code)


def call(api: str, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
    """One operator API call; raises ``typer.Exit`` with a clear message on any failure."""
    token = os.environ.get(TOKEN_ENV, "")
    if not token:
        raise _fail(f"set {TOKEN_ENV} to the node's operator API token", 2)
    ca = os.environ.get(CA_ENV, "")
    try:
        verify: ssl.SSLContext | bool = client_context(Path(ca)) if ca else True
        headers = {"Authorization": f"Bearer {token}"}
        resp = httpx.request(method, api.rstrip("/") + path, json=body, timeout=120,
                             headers=headers, verify=verify)  # fmt: skip
    except TLSConfigError as exc:
        raise _fail(f"{CA_ENV}: {exc}", 2) from None
    except httpx.HTTPError as exc:
        raise _fail(f"node API unreachable at {api}: {exc}", 2) from None
    if resp.status_code != 200:
        try:
            doc = resp.json()
            detail, name = doc.get("detail"), doc.get("error")
        except ValueError:
            detail, name = resp.text, None
        suffix = f" ({name})" if name else ""
        raise _fail(f"{detail}{suffix}", 1)
    return resp.json()


def _show(result: Any, as_json: bool, title: str) -> None:
    if as_json:
        typer.echo(json.dumps(result, indent=2, sort_keys=True))
        return
    rows = result if isinstance(result, list) else [result]
    console = Console()
    if not rows:
        console.print(f"{title}: none")
        return
    table = Table(title=title)
    for key in rows[0]:
        table.add_column(str(key))
    for row in rows:
        table.add_row(*(_short(v) for v in row.values()))
    console.print(table)


def _short(value: Any) -> str:
    text = str(value)
    return text if len(text) <= 24 else text[:12] + "…" + text[-8:]


def case_add(case: str, records: list[str], api: Api = DEFAULT_API, as_json: Json = False) -> None:
    """Attach records ingested on this node to a case (a grant covers a case's records)."""
    cid = _checked(parse_case_id, case)
    ids = [_checked(parse_record_id, r).hex() for r in records]
    _show(call(api, "POST", f"/cases/0x{cid.hex()}/records", {"record_ids": ids}), as_json,
          "case records")  # fmt: skip


def refer(case: str, to: Annotated[str, typer.Option("--to", help="upper-tier hospital")],
          expires: Expires = "+7d", reason: Reason = 0, api: Api = DEFAULT_API,
          as_json: Json = False) -> None:  # fmt: skip
    """Refer a case up to a higher-tier hospital (lower tier)."""
    body = {"case_id": "0x" + _checked(parse_case_id, case).hex(),
            "to": _checked(parse_address, to, "--to"), "expires_at": parse_expiry(expires),
            "reason_code": reason}  # fmt: skip
    _show(call(api, "POST", "/referrals", body), as_json, "referral")


def accept(referral: int, api: Api = DEFAULT_API, as_json: Json = False) -> None:
    """Accept a referral addressed to this hospital (upper tier)."""
    _show(call(api, "POST", f"/referrals/{referral}/accept"), as_json, "referral")


def decline(referral: int, reason: Reason = 0, api: Api = DEFAULT_API,
            as_json: Json = False) -> None:  # fmt: skip
    """Decline a pending referral addressed to this hospital (upper tier)."""
    body = {"reason_code": reason}
    _show(call(api, "POST", f"/referrals/{referral}/decline", body), as_json, "referral")


def complete(referral: int, api: Api = DEFAULT_API, as_json: Json = False) -> None:
    """Mark an accepted referral completed (upper tier)."""
    _show(call(api, "POST", f"/referrals/{referral}/complete"), as_json, "referral")


def refer_back(referral: int, expires: Expires = "+7d", reason: Reason = 0,
               api: Api = DEFAULT_API, as_json: Json = False) -> None:  # fmt: skip
    """Refer a completed case back down to the hospital that referred it (upper tier)."""
    body = {"expires_at": parse_expiry(expires), "reason_code": reason}
    _show(call(api, "POST", f"/referrals/{referral}/refer-back", body), as_json, "referral")


def grant(case: str, to: Annotated[str, typer.Option("--to", help="the referral's target")],
          expires: Expires = "+1d",
          max_uses: Annotated[int, typer.Option("--max-uses", min=1, max=2**32 - 1)] = 10,
          physician: Annotated[str | None, typer.Option(help="only this physician")] = None,
          referral: Annotated[int | None, typer.Option(help="referral id, if several")] = None,
          api: Api = DEFAULT_API, as_json: Json = False) -> None:  # fmt: skip
    """Grant the referral's target access to a case (wrap keys, issue, mint, deliver)."""
    body: dict[str, Any] = {
        "case_id": "0x" + _checked(parse_case_id, case).hex(),
        "to": _checked(parse_address, to, "--to"), "expires_at": parse_expiry(expires),
        "max_uses": max_uses, "referral_id": referral,
        "physician": None if physician is None else _checked(parse_address, physician),
    }  # fmt: skip
    _show(call(api, "POST", "/grants", body), as_json, "grant")


def revoke(grant_id: int, api: Api = DEFAULT_API, as_json: Json = False) -> None:
    """Revoke a grant this hospital issued; redemptions stop at once."""
    _show(call(api, "POST", f"/grants/{grant_id}/revoke"), as_json, "revoked grant")


def rekey(record: str, drop: Annotated[list[str] | None, typer.Option(
              "--drop", help="grantee hospital to drop (repeatable)")] = None,
          api: Api = DEFAULT_API, as_json: Json = False) -> None:  # fmt: skip
    """Re-encrypt a record under a new data key and re-grant it to the grantees kept."""
    rid = _checked(parse_record_id, record).hex()
    body = {"drop_grantees": [_checked(parse_address, a, "--drop") for a in drop or []]}
    _show(call(api, "POST", f"/cases/records/{rid}/rekey", body), as_json, "re-keyed record")


def shred(record: str, yes: Annotated[bool, typer.Option(
              "--yes", help="confirm: the record becomes unreadable for good")] = False,
          api: Api = DEFAULT_API, as_json: Json = False) -> None:  # fmt: skip
    """Crypto-shred a record: its data keys and ciphertext are destroyed; the anchor stays."""
    rid = _checked(parse_record_id, record).hex()
    if not yes:
        raise _fail("shredding cannot be undone; pass --yes to confirm", 2)
    _show(call(api, "POST", f"/cases/records/{rid}/shred"), as_json, "shredded record")


def list_referrals(api: Api = DEFAULT_API, as_json: Json = False) -> None:
    """Referrals this hospital made or received."""
    _show(call(api, "GET", "/referrals"), as_json, "referrals")


def list_grants(api: Api = DEFAULT_API, as_json: Json = False) -> None:
    """Grants this hospital issued or received, with their local state."""
    _show(call(api, "GET", "/grants"), as_json, "grants")


def follow(api: Api = DEFAULT_API, as_json: Json = False) -> None:
    """Run one pass of the node's event follower now (fetch and pin granted cases)."""
    _show(call(api, "POST", "/follower/poll"), as_json, "follower")


def register(app: typer.Typer) -> None:
    """Add the referral and grant commands to the ``medledger node`` Typer app."""
    app.command("case-add")(case_add)
    app.command("refer")(refer)
    app.command("accept")(accept)
    app.command("decline")(decline)
    app.command("complete")(complete)
    app.command("refer-back")(refer_back)
    app.command("grant")(grant)
    app.command("revoke")(revoke)
    app.command("referrals")(list_referrals)
    app.command("grants")(list_grants)
    app.command("follow")(follow)
    app.command("rekey")(rekey)
    app.command("shred")(shred)
