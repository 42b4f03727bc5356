"""Errors of the gateway package; every one derives from :class:`GatewayError`."""

from __future__ import annotations


class GatewayError(Exception):
    """Root of every error raised by the gateway package."""
