"""A consortium validator process: the ledger, its BFT node thread, and the RPC face.

:class:`ValidatorNode` is what ``medledger ledger run`` serves when the genesis names more
than one validator: the same ``LedgerAPI`` as the single-validator node, but blocks come
from consensus (:class:`ledger.bft.node.BftNode`, in its own thread and event loop) and a
transaction admitted through RPC is also gossiped to the other validators.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from pathlib import Path

from ledger.bft.node import BftNode
from ledger.chain import Ledger
from ledger.facade import LedgerFacade
from ledger.p2p.config import P2PSettings
from ledger.p2p.exceptions import P2PError
from ledger.profiling import profiled
from ledger.typing import Hash32

log = logging.getLogger(__name__)


class ValidatorNode(LedgerFacade):
    """A ``Ledger`` whose blocks are decided by the consortium while it is open."""

    def __init__(self, ledger: Ledger, *, key: bytes, settings: P2PSettings, data_dir: Path):
        super().__init__(ledger)
        self.node = BftNode(
            ledger=ledger,
            key=key,
            listen=(settings.host, settings.port),
            peers=settings.endpoints(),
            data_dir=data_dir,
            timeouts=settings.timeouts.config(),
            gossip_s=settings.gossip_ms / 1000,
            announce=settings.announce(),
        )
        self._loop = asyncio.new_event_loop()
        self._stop = asyncio.Event()
        self._failed: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="bft-node", daemon=True)
        self._thread.start()
        while not self.node.listening.wait(0.05):
            if not self._thread.is_alive():
                ledger.close()
                raise P2PError(
                    f"cannot run the p2p node on {settings.host}:{settings.port}: {self._failed}"
                )

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        try:
            with profiled("bft-node"):
                self._loop.run_until_complete(self.node.run(self._stop))
        except BaseException as exc:
            self._failed = exc
            log.exception("the BFT node stopped")
        finally:
            self._loop.close()

    def send_raw_transaction(self, raw_transaction: bytes) -> Hash32:
        tx_hash = self.inner.send_raw_transaction(raw_transaction)
        self.node.submit(raw_transaction)
        return tx_hash

    def equivocations(self) -> list[dict[str, object]]:
        """Evidence records seen so far (``medledger_getEquivocations``)."""
        return list(self.node.evidence)

    def close(self) -> None:
        if self._thread.is_alive():
            self._loop.call_soon_threadsafe(self._stop.set)
            self._thread.join(10)
        self.inner.close()
