"""The one call a read route makes per item served: account for it, then serve it.

A :class:`Discloser` is bound to the request's physician; routes call it before the item's
bytes go out (for a streamed multi-instance answer: as each instance is opened, before its
part is yielded). If the entry cannot be written the item is not served
(:class:`~gateway.disclosure.exceptions.LogUnavailable` becomes a 503).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from gateway.disclosure.anchor import Anchorer
from gateway.disclosure.entry import Kind, Served, instance_ref


@dataclass(frozen=True, slots=True)
class Discloser:
    """Accounts reads for one physician; ``anchorer`` ``None``: accounting is off (tests)."""

    anchorer: Anchorer | None
    physician: str
    clock: Callable[[], float]

    def record(self, *, kind: Kind, grant: bytes, record: bytes | None = None,
               sop_uid: str | None = None, size: int) -> None:  # fmt: skip
        """Append one entry for an item about to be served."""
        if self.anchorer is None:
            return
        instance = None if sop_uid is None else instance_ref(grant, sop_uid)
        served = Served(kind=kind, grant=grant, record=record, instance=instance, size=size)
        self.anchorer.append(physician=self.physician, served=served,
                             at_ms=int(self.clock() * 1000))  # fmt: skip
