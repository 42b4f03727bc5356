"""Errors of the disclosure log; every one derives from :class:`DisclosureError`.

Gateway errors too (a 503 each): a read that cannot be accounted for is not served, and
the client is told to retry rather than given bytes no auditor would ever see.
"""

from __future__ import annotations

from gateway.exceptions import GatewayError


class DisclosureError(GatewayError):
    """Root of every error raised by :mod:`gateway.disclosure`."""

    status_code = 503
    code = "disclosure_unavailable"


class LogUnavailable(DisclosureError):
    """The log cannot be written: a read that cannot be accounted for is not served."""

    code = "disclosure_log_unavailable"


class AnchorFailed(DisclosureError):
    """The head could not be anchored on chain (the log itself is intact)."""

    code = "disclosure_anchor_failed"
