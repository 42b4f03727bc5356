"""Errors of the audit trail; all are gateway errors (one root per package)."""

from __future__ import annotations

from gateway.exceptions import Forbidden, GatewayError, NotFound


class AuditError(GatewayError):
    """Root of the audit trail's own errors."""


class UnknownSubject(AuditError, NotFound):
    """The chain never saw this record, case or grant (or, batched, its proof is missing)."""

    code = "unknown_subject"


class AuditChainUnavailable(AuditError):
    """The chain's RPC could not be read (down, refused, malformed answer)."""

    status_code = 503
    code = "chain_unavailable"


class NotAuditor(AuditError, Forbidden):
    """The key signed the challenge but is not an auditor in ``Consortium`` (now)."""

    code = "not_auditor"


class AuditTrailNotConfigured(AuditError):
    """The gateway runs without a chain reader for audits."""

    status_code = 503
    code = "audit_not_configured"
