"""Errors of the node package; every one derives from :class:`NodeError`."""

from __future__ import annotations


class NodeError(Exception):
    """Root of every error raised by the node package."""
