"""Interfaces of the case services: the chain reads the verified read side takes from outside.

The grantee checks every granted record against the chain before a byte is released
(:mod:`node.cases.read`). Single-record anchors are read through the node's own
:class:`~node.abc.CaseChainAPI`; batch roots through :class:`BatchRootsAPI`, which a caller
may back with a cache of final facts (the gateway's chain view does, and satisfies it).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Protocol


class AnchoredBatch(Protocol):
    """What the reader needs of a batch anchor: who anchored it."""

    @property
    def hospital(self) -> str:
        """The address of the hospital whose ``Anchors.anchorBatch`` recorded the root."""
        ...


class BatchRootsAPI(ABC):
    """Who anchored a Merkle batch root (``Anchors.getBatch``)."""

    @abstractmethod
    def batch_anchor(self, *, root: bytes) -> AnchoredBatch | None:
        """The anchor of the batch ``root``; ``None`` if nobody anchored it.

        A final anchor never changes, so implementations may cache found roots for good,
        but must re-read an absent one. Raises if the chain cannot be read.
        """
