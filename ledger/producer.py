"""The single validator's block producer thread: a block as soon as there are transactions.

It wakes when the ledger admits a transaction (or every interval to re-check), makes at
most one block per configured interval, and never makes empty blocks. It stops by itself
when the ledger's storage is closed or fails (``StorageError``): nothing can be committed.
Each block is decided by the consensus driver alone (``Ledger.produce_block``, through
:mod:`ledger.solo`). :class:`ProducingLedger` is the ``LedgerAPI`` served while it runs.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from ledger.chain import Ledger
from ledger.exceptions import StorageError
from ledger.facade import LedgerFacade

log = logging.getLogger(__name__)


class BlockProducer:
    """Runs ``ledger.produce_block`` in its own thread; ``start``/``stop`` any number of times."""

    def __init__(self, ledger: Ledger) -> None:
        self._ledger = ledger
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._remove_hook: Callable[[], None] | None = None

    def notify(self) -> None:
        """Tell the producer a transaction arrived (call after ``send_raw_transaction``)."""
        self._wake.set()

    def start(self) -> None:
        if self._thread is not None and self._thread.is_alive():
            return
        self._stop.clear()
        self._remove_hook = self._ledger.on_transaction(self.notify)
        self._thread = threading.Thread(target=self._run, name="block-producer", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        self._wake.set()
        if self._remove_hook is not None:
            self._remove_hook()
            self._remove_hook = None
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def _run(self) -> None:
        interval = self._ledger.block_interval
        last = 0.0
        while not self._stop.is_set():
            self._wake.wait(interval)
            self._wake.clear()
            if self._stop.is_set():
                return
            wait = last + interval - time.monotonic()
            if wait > 0 and self._stop.wait(wait):
                return
            last = time.monotonic()
            try:
                block = self._ledger.produce_block()
            except StorageError:
                log.exception("storage unusable; block producer stops")
                return
            except Exception:
                log.exception("block production failed; retrying next interval")
                continue
            if block is not None and len(self._ledger.mempool):
                self._wake.set()


class ProducingLedger(LedgerFacade):
    """A single validator's ``Ledger`` whose block producer runs while it is open."""

    def __init__(self, ledger: Ledger) -> None:
        super().__init__(ledger)
        self.producer = BlockProducer(ledger)
        self.producer.start()

    def close(self) -> None:
        self.producer.stop()
        self.inner.close()
