"""Who the addresses in a trace are, from ``Consortium`` events alone.

Hospitals by the public name and tier they were admitted with (tier changes applied),
physicians and gateway operators by their role at their hospital (the chain holds a salted
licence hash, never a person's name), auditors as auditors. Public consortium data only.
"""

from __future__ import annotations

from collections.abc import Iterable

from contracts.typing import Role, Tier
from gateway.audit.events import EventReader

ZERO_ADDRESS = "0x" + "00" * 20


def _tier(code: object) -> str:
    try:
        return Tier(int(str(code))).name.lower().replace("_", " ")
    except ValueError:
        return f"tier {code}"


def describe_parties(reader: EventReader, addresses: Iterable[str], *, head: int) -> dict[str, str]:
    """A short description per known address (unknown addresses are left out)."""
    wanted = sorted({a for a in addresses if a.lower() != ZERO_ADDRESS})
    if not wanted:
        return {}
    staff = reader.query(("StaffRegistered",), topics={2: wanted}, to_block=head)
    hospitals = sorted(set(wanted) | {str(e.args["hospital"]) for e in staff})
    names: dict[str, str] = {}
    tiers: dict[str, str] = {}
    members = ("MemberAdmitted", "MemberTierChanged")
    for event in reader.query(members, topics={1: hospitals}, to_block=head):
        member = str(event.args["member"])
        if event.name == "MemberAdmitted":
            names[member] = str(event.args["name"])
            tiers[member] = _tier(event.args["tier"])
        else:
            tiers[member] = _tier(event.args["toTier"])
    found = {m: f"{names[m]} ({tiers[m]})" for m in names if m in wanted}
    for event in staff:  # the latest registration wins (re-registration is possible)
        role = (
            Role(int(event.args["role"])).name.lower()
            if int(event.args["role"]) in (1, 2)
            else "staff"
        )
        hospital = str(event.args["hospital"])
        found[str(event.args["account"])] = f"{role} at {names.get(hospital, hospital)}"
    for event in reader.query(("AuditorAdded",), topics={1: wanted}, to_block=head):
        found.setdefault(str(event.args["auditor"]), "auditor")
    return found
