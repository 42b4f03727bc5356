"""Errors of outbound pushes; each is a :class:`~gateway.exceptions.GatewayError`."""

from __future__ import annotations

from gateway.exceptions import GatewayError, NotFound


class DestinationFailed(GatewayError):
    """The destination was unreachable, refused, or did not store everything: 502.

    The fault is upstream of the gateway (the hospital's own PACS or HIS), not in the
    request; the message says which destination and what it answered, never PHI.
    """

    status_code = 502
    code = "destination_failed"


class UnknownDestination(NotFound):
    """No destination of this name is configured on this gateway."""

    code = "unknown_destination"
