"""Errors of the keys package; every one derives from :class:`KeysError`."""

from __future__ import annotations


class KeysError(Exception):
    """Root of every error raised by the keys package."""
