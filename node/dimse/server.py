"""The node's DICOM listener: C-ECHO and C-STORE SCP (pynetdicom), ingesting at release.

Every storage SOP class pynetdicom knows is accepted, in every transfer syntax it lists
(the JPEG family included): instances are stored as received, never transcoded, so the hash
anchored is over the bytes the modality sent. pynetdicom writes each incoming dataset to a
temporary file (``STORE_RECV_CHUNKED_DATASET``) rather than memory; the C-STORE handler
checks it and moves it into the association's :class:`~node.dimse.spool.Spool`. When the
association ends (released, or aborted: instances already acknowledged must not be lost)
the spool is ingested (:class:`~node.dimse.ingest.StandardIngest`) and deleted. An
association left open and silent for ``idle_timeout_s`` is aborted by pynetdicom's network
timeout, so that is the quiet period after which a push that is never released goes in.

C-STORE statuses: 0x0000 stored (or already held: idempotent by SOP Instance UID), 0xA700
over the per-instance limit, 0xA900 an instance without valid UIDs, 0xC000 a dataset pydicom
cannot parse or a truncated one. Nothing the peer sends reaches a log.
"""

from __future__ import annotations

import logging
import socketserver
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pynetdicom import AE, AllStoragePresentationContexts, _config, evt
from pynetdicom._globals import ALL_TRANSFER_SYNTAXES
from pynetdicom.sop_class import Verification  # type: ignore[attr-defined]
from pynetdicom.transport import ThreadedAssociationServer

from node.config import DimseSettings
from node.dimse.exceptions import InstanceTooLarge
from node.dimse.ingest import StandardIngest
from node.dimse.peers import handler_class
from node.dimse.spool import Spool
from node.exceptions import IngestError, MissingDicomUid

log = logging.getLogger(__name__)

STATUS_OK = 0x0000
STATUS_OUT_OF_RESOURCES = 0xA700
STATUS_DATASET_MISMATCH = 0xA900
STATUS_CANNOT_UNDERSTAND = 0xC000


def store_status(exc: IngestError) -> int:
    """The C-STORE failure status of an instance refused with ``exc``."""
    if isinstance(exc, InstanceTooLarge):
        return STATUS_OUT_OF_RESOURCES
    if isinstance(exc, MissingDicomUid):
        return STATUS_DATASET_MISMATCH
    return STATUS_CANNOT_UNDERSTAND


def peer_hosts(settings: DimseSettings) -> Mapping[str, frozenset[str]]:
    hosts: dict[str, set[str]] = {}
    for peer in settings.peers:
        hosts.setdefault(peer.aet.strip(), set()).add(peer.host)
    return {aet: frozenset(h) for aet, h in hosts.items()}


class DimseListener:
    """A running C-ECHO / C-STORE SCP feeding :class:`StandardIngest`."""

    def __init__(self, settings: DimseSettings, *, ingest: StandardIngest,
                 spool_root: Path) -> None:  # fmt: skip
        self.settings = settings
        self.ingest = ingest
        self.spool_root = spool_root
        self._spools: dict[int, Spool] = {}
        self._lock = threading.Lock()
        self._server: ThreadedAssociationServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        """The bound port (useful when the settings asked for port 0)."""
        assert self._server is not None
        return int(self._server.server_address[1])

    def _ae(self) -> AE:
        """The AE: every storage SOP class, in every transfer syntax pynetdicom lists.

        Stored as received: uncompressed, deflated, JPEG, JPEG-LS, JPEG 2000, RLE, video.
        """
        s = self.settings
        ae = AE(ae_title=s.aet)
        for cx in AllStoragePresentationContexts:
            assert cx.abstract_syntax is not None
            ae.add_supported_context(cx.abstract_syntax, ALL_TRANSFER_SYNTAXES)
        ae.add_supported_context(Verification)
        ae.maximum_associations = s.max_associations
        ae.maximum_pdu_size = s.max_pdu_bytes
        ae.acse_timeout = ae.dimse_timeout = ae.network_timeout = s.idle_timeout_s
        # pynetdicom's own check ([] turns it off); PeerCheckingACSE refuses all without peers
        ae.require_calling_aet = [p.aet for p in s.peers]
        return ae

    def start(self) -> None:
        _config.STORE_RECV_CHUNKED_DATASET = True
        # pynetdicom's INFO/DEBUG lines dump every PDU and DIMSE message: noise at best, and
        # not ours to vouch for; its warnings and errors still reach the node's log
        logging.getLogger("pynetdicom").setLevel(logging.WARNING)
        handlers: list[Any] = [(evt.EVT_C_ECHO, self._on_echo), (evt.EVT_C_STORE, self._on_store),
                    (evt.EVT_CONN_CLOSE, self._on_close)]  # fmt: skip
        server = self._ae().make_server(
            (self.settings.host, self.settings.port), evt_handlers=handlers,
            server_class=ThreadedAssociationServer,
            request_handler=handler_class(peer_hosts(self.settings), self.settings.max_pdu_bytes),
        )  # fmt: skip
        self._server = server
        self._thread = threading.Thread(target=server.serve_forever, name="dimse", daemon=True)
        self._thread.start()
        log.info("DICOM listener %s on %s:%d", self.settings.aet, self.settings.host, self.port)

    def stop(self) -> None:
        if self._server is not None:
            # BaseServer's: pynetdicom's own shutdown expects a server made by start_server
            socketserver.BaseServer.shutdown(self._server)
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None

    def busy(self) -> int:
        """Associations open plus pushes not ingested yet (0: everything received is in)."""
        with self._lock:
            pending = len(self._spools)
        server = self._server
        return pending + (len(server.active_associations) if server is not None else 0)

    # --- handlers (run on each association's thread) ----------------------------------------

    def _on_echo(self, event: Any) -> int:
        return STATUS_OK

    def _spool(self, event: Any) -> Spool:
        key = id(event.assoc)
        with self._lock:
            spool = self._spools.get(key)
            if spool is None:
                spool = self._spools[key] = Spool(
                    self.spool_root, max_instance_bytes=self.settings.max_instance_bytes
                )
        return spool

    def _on_store(self, event: Any) -> int:
        path = Path(event.dataset_path)
        spool = self._spool(event)
        try:
            if path.stat().st_size > self.settings.max_instance_bytes:
                raise InstanceTooLarge("an instance is over the per-instance limit")
            spool.add(path.read_bytes())
        except IngestError as exc:
            log.info("C-STORE refused (%s)", type(exc).__name__)
            return store_status(exc)
        return STATUS_OK

    def _on_close(self, event: Any) -> None:
        with self._lock:
            spool = self._spools.pop(id(event.assoc), None)
        if spool is None:
            return
        try:
            self.ingest.ingest(spool)
        except Exception:  # the association thread must end cleanly; the spool is discarded
            log.exception("ingest of a DICOM association failed")
        finally:
            spool.discard()
