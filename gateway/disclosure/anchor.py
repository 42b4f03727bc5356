"""Anchoring the log's head on chain every N entries or T seconds, and on demand.

Appends never wait for the chain: a due anchor wakes a background thread, which sends the
head with the gateway operator's account. A failed anchor is logged (count only) and
retried on the next wake-up; the log itself is unaffected.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass

from gateway.disclosure.abc import AnchoredHead, DisclosureLogAPI, HeadAnchorAPI
from gateway.disclosure.entry import Entry, Served
from gateway.disclosure.exceptions import AnchorFailed

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Policy:
    """Anchor once ``every_entries`` are unanchored, or every ``every_seconds`` if any are."""

    every_entries: int = 100
    every_seconds: float = 300.0


class Anchorer:
    """The log plus its anchoring schedule; ``chain`` ``None``: the log is kept, not anchored."""

    def __init__(self, log_: DisclosureLogAPI, chain: HeadAnchorAPI | None, policy: Policy) -> None:
        self.log = log_
        self.chain = chain
        self.policy = policy
        self._anchored = 0
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def append(self, *, physician: str, served: Served, at_ms: int) -> Entry:
        entry = self.log.append(physician=physician, served=served, at_ms=at_ms)
        if self.chain is not None and entry.seq - self._anchored >= self.policy.every_entries:
            self._wake.set()
        return entry

    def anchor_now(self) -> AnchoredHead | None:
        """Anchor the current head if it is not anchored yet; ``None`` when nothing is new."""
        if self.chain is None:
            raise AnchorFailed("no operator account: the gateway cannot send anchors")
        with self._lock:
            count, head = self.log.head()
            if count == 0 or count <= self._anchored:
                return None
            anchored = self.chain.anchor(head=head, count=count)
            self._anchored = count
            return anchored

    def start(self) -> None:
        """Run the schedule in a daemon thread (idempotent; no-op without a chain)."""
        if self.chain is None or self._thread is not None:
            return
        try:
            latest = self.chain.anchored()
            self._anchored = latest[-1].count if latest else 0
        except AnchorFailed as exc:  # the chain is not up yet: the first anchor tells
            log.warning("anchored disclosure heads not readable: %s", exc)
        self._thread = threading.Thread(target=self._run, name="disclosure-anchor", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=10)

    def _run(self) -> None:
        while not self._stop.is_set():
            self._wake.wait(timeout=self.policy.every_seconds)
            self._wake.clear()
            if self._stop.is_set():
                return
            try:
                self.anchor_now()
            except AnchorFailed as exc:
                log.warning("disclosure head not anchored: %s", exc)
