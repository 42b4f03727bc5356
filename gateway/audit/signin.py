"""Auditor sign-in: the shared proof-of-possession mechanism with the auditor role.

The mechanism is :mod:`gateway.services.signin`; the role is gated on ``Consortium.isAuditor``.

Auditor sessions live in their *own* :class:`~gateway.abc.SessionStoreAPI` instance (the
``Session.physician`` field holds the auditor's address there, ``grants`` stays empty) and
their tokens are digested under their own label, so an auditor token is unknown to every
physician route and a physician token to every audit route: the auditor never gets a
physician session, hence never a byte of plaintext.
"""

from __future__ import annotations

from gateway.abc import AuditTrailAPI
from gateway.audit.errors import NotAuditor
from gateway.services.signin import Role, RoleCheck
from gateway.typing import PhysicianAddress

AUDITOR = Role(
    title="Auditor",
    purpose="as a consortium AUDITOR (read-only)",
    promise="It sends no transaction and gives no access to any record's content.",
    digest_label=b"medledger auditor session\x00",
)


def auditor_check(trail: AuditTrailAPI) -> RoleCheck:
    """Refuse (``NotAuditor``, 403) unless ``Consortium`` lists the address as an auditor."""

    def check(address: PhysicianAddress) -> None:
        if not trail.is_auditor(address):
            raise NotAuditor("this key is not an auditor of the consortium")

    return check
