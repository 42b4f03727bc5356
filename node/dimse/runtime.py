"""The standard ways in of a running node, built from its config (``medledger node run``)."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from keys.envelope import EncryptionKeyring
from node.config import LoadedConfig
from node.dimse.index import StudyIndex
from node.dimse.ingest import StandardIngest
from node.dimse.prior import KeyringPriorInstances
from node.dimse.server import DimseListener
from node.dimse.spool import sweep_spools
from node.service import NodeService

log = logging.getLogger(__name__)


@dataclass
class StandardRuntime:
    """The shared ingest, the DICOM listener (if enabled) and what STOW-RS needs."""

    ingest: StandardIngest
    listener: DimseListener | None
    index: StudyIndex

    def start(self) -> None:
        if self.listener is not None:
            self.listener.start()

    def stop(self) -> None:
        if self.listener is not None:
            self.listener.stop()
        self.index.close()


def open_standard_runtime(config: LoadedConfig, *, node: NodeService,
                          keyring: EncryptionKeyring) -> StandardRuntime:  # fmt: skip
    """The DIMSE listener (``dimse.enabled``) and the STOW-RS ingest of ``node``."""
    swept = sweep_spools(config.data_dir / "spool")
    if swept:
        log.warning("deleted %d DICOM push(es) an earlier run left un-ingested", swept)
    index = StudyIndex(config.data_dir / "studies.sqlite")
    prior = KeyringPriorInstances(outbox=node.outbox, blobs=node.parts.store.blobs,
                                  keyring=keyring)  # fmt: skip
    ingest = StandardIngest(node, index, prior)
    dimse = config.settings.dimse
    listener = None
    if dimse.enabled:
        listener = DimseListener(dimse, ingest=ingest, spool_root=config.data_dir / "spool")
    return StandardRuntime(ingest, listener, index)
