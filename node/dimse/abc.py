"""Interfaces of the standard ways in: where the instances of an earlier version come from."""

from __future__ import annotations

from abc import ABC, abstractmethod
from pathlib import Path

from keys.typing import RecordId


class PriorInstancesAPI(ABC):
    """Reads back the instances of a study record this node stored (to build its next version)."""

    @abstractmethod
    def write_instances(self, record_id: RecordId, directory: Path, *, skip: set[str]) -> int:
        """Decrypt and verify every instance of ``record_id`` into ``directory``; return how many.

        Instances whose SOP Instance UID is in ``skip`` (sent again) are left out. Raises
        :class:`node.dimse.exceptions.DimseError` if the record cannot be read back.
        """
