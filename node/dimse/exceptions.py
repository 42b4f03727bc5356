"""Errors of the DICOM ways in (all under :class:`node.exceptions.NodeError`)."""

from __future__ import annotations

from node.exceptions import IngestError


class DimseError(IngestError):
    """Root of the DIMSE / STOW-RS errors: an instance or study that cannot be taken in."""


class PriorUnreadable(DimseError):
    """The earlier version of a study cannot be read back, so no union can be built."""


class InstanceTooLarge(DimseError):
    """One instance is over the configured per-instance limit."""


class StudyMismatch(DimseError):
    """An instance sent to ``/studies/{study}`` belongs to another study."""
