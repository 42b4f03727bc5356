"""One root error for consortium set-up and governance; each failure is a subclass."""

from __future__ import annotations


class ConsortiumError(Exception):
    """Root of every error raised by ``medledger.consortium``."""


class LayoutError(ConsortiumError):
    """Bad parameters: hospital count, tiers, ports."""


class OutputExists(ConsortiumError):
    """The output directory already holds files; nothing is overwritten."""


class ManifestError(ConsortiumError):
    """``consortium.json`` is missing or invalid."""


class AdmissionError(ConsortiumError):
    """The admission vote could not be carried out (the message says which step and why)."""


class StaffError(AdmissionError):
    """A staff transaction was refused by the ``Consortium`` contract or could not be sent."""


class StaffInputError(ConsortiumError):
    """Bad staff input (role, licence, address) caught before anything is sent."""
