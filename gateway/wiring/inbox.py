"""The real :class:`~gateway.abc.InboxAPI`: grants our node received by signed delivery.

The node's case store (shared SQLite file) knows what was delivered and when; the node's
:func:`node.cases.inbox.inbox` reads uses left, revocation and the referral's reason on
chain. Here its rows become the gateway's :class:`~gateway.domain.InboxEntry`.
"""

from __future__ import annotations

from collections.abc import Sequence

from eth_utils.address import to_checksum_address

from gateway.abc import InboxAPI
from gateway.domain import InboxEntry
from gateway.exceptions import ChainUnavailable
from gateway.typing import PhysicianAddress
from keys.typing import CaseId, GrantId, HospitalAddress
from node import exceptions as node_errors
from node.cases.inbox import inbox
from node.cases.service import CaseServices


class NodeInbox(InboxAPI):
    """The hospital node's delivered grants, read through its case services."""

    def __init__(self, services: CaseServices) -> None:
        self._services = services

    def entries(self) -> Sequence[InboxEntry]:
        try:
            rows = inbox(services=self._services)
        except node_errors.ChainUnavailable as exc:
            raise ChainUnavailable(str(exc)) from exc
        return [
            InboxEntry(
                grant_id=GrantId(int(str(r["grant_id"])).to_bytes(32, "big")),
                case_id=CaseId(bytes.fromhex(str(r["case_id"])[2:])),
                referral_id=int(str(r["referral_id"])),
                grantor=HospitalAddress(to_checksum_address(str(r["grantor"]))),
                grantor_name=str(r["grantor_name"]),
                reason_code=int(str(r["reason_code"])),
                expiry=int(str(r["expires_at"])),
                max_uses=int(str(r["max_uses"])),
                uses_left=int(str(r["uses_left"])),
                physician=None
                if r["physician"] is None
                else PhysicianAddress(to_checksum_address(str(r["physician"]))),
                revoked=bool(r["revoked"]),
                delivered_at=float(str(r["delivered_at"])),
                token=None if r.get("token") is None else str(r["token"]),
            )
            for r in rows
        ]
