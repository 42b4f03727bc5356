"""One human line per chain event (ids shortened; the full values stay in ``args``)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from contracts.typing import RecordKind

ZERO32 = "0x" + "00" * 32
ZERO_ADDRESS = "0x" + "00" * 20


def short(value: object) -> str:
    text = str(value)
    return text if len(text) <= 14 else f"{text[:10]}…{text[-4:]}"


def _when(ts: object) -> str:
    return datetime.fromtimestamp(int(str(ts)), UTC).strftime("%Y-%m-%d %H:%M UTC")


def _kind(code: object) -> str:
    try:
        return RecordKind(int(str(code))).name.lower().replace("_", "-")
    except ValueError:
        return f"kind {code}"


def _record(a: Mapping[str, Any]) -> str:
    text = f"record {short(a['recordId'])} ({_kind(a['kind'])}) anchored, ciphertext {a['cid']}"
    if a["previousVersion"] != ZERO32:
        text += f", new version of {short(a['previousVersion'])}"
    return text


def _physician(address: object) -> str:
    return "any physician" if str(address).lower() == ZERO_ADDRESS else f"physician {address}"


_LINES: dict[str, Callable[[Mapping[str, Any]], str]] = {
    "RecordAnchored": _record,
    "BatchAnchored": lambda a: (
        f"batch root {short(a['root'])} of {a['count']} records anchored, "
        f"manifest {a['manifestCid']}"
    ),
    "ReferralInitiated": lambda a: (
        f"referral #{a['referralId']} to {a['target']} (reason {a['reasonCode']}, "
        f"until {_when(a['expiresAt'])})"
        + (f", referring back from #{a['parentId']}" if int(a["parentId"]) else "")
    ),
    "ReferralAccepted": lambda a: f"referral #{a['referralId']} accepted by {a['target']}",
    "ReferralDeclined": lambda a: (
        f"referral #{a['referralId']} declined by {a['target']} (reason {a['reasonCode']})"
    ),
    "ReferralCompleted": lambda a: f"referral #{a['referralId']} completed by {a['target']}",
    "ReferralCancelled": lambda a: f"referral #{a['referralId']} cancelled by {a['initiator']}",
    "ReferredBack": lambda a: f"referral #{a['parentId']} referred back as #{a['referralId']}",
    "GrantIssued": lambda a: (
        f"grant #{a['grantId']} under referral #{a['referralId']} to {a['grantee']} "
        f"for {_physician(a['physician'])}, {a['maxUses']} uses until {_when(a['expiresAt'])}"
    ),
    "AccessRedeemed": lambda a: (
        f"grant #{a['grantId']} redeemed by physician {a['physician']} at {a['grantee']} "
        f"(use {a['use']}{', break-glass' if a['breakGlass'] else ''})"
    ),
    "GrantRevoked": lambda a: (
        f"grant #{a['grantId']} revoked by {a['revokedBy']} after {a['usesConsumed']} uses"
    ),
    "BreakGlassAccess": lambda a: (
        f"BREAK-GLASS grant #{a['grantId']}: physician {a['physician']} of {a['hospital']} "
        f"on {a['grantor']}'s case, reason code {a['reasonCode']}, "
        f"{a['maxUses']} uses until {_when(a['expiresAt'])}"
    ),
    "BreakGlassReviewed": lambda a: (
        f"break-glass grant #{a['grantId']} reviewed by {a['reviewer']}: "
        f"{'justified' if a['justified'] else 'NOT justified'} (note {short(a['noteHash'])})"
    ),
}


def summarize(name: str, args: Mapping[str, Any]) -> str:
    """The line for event ``name``; unknown kinds list their arguments."""
    line = _LINES.get(name)
    if line is None:
        return ", ".join(f"{k}={short(v)}" for k, v in args.items())
    return line(args)
