"""Who may associate, and how large a PDU may be: checks pynetdicom does not make itself.

pynetdicom rejects an unknown calling AE title (``require_calling_aet``) and associations
over its limit, but neither ties an AE title to a host nor bounds the length a peer declares
for a PDU (it reads whatever the 4-byte length says). The acceptor's ACSE here rejects a
known AE title from another host with the same A-ASSOCIATE-RJ as an unknown one (rejected
permanent, service user, "calling AE title not recognized"), and the socket refuses a PDU
longer than the maximum we announced before reading it, aborting the association.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from pynetdicom import evt
from pynetdicom.acse import ACSE
from pynetdicom.transport import AssociationSocket, RequestHandler

log = logging.getLogger(__name__)

#: (result, source, reason): rejected-permanent, service-user, calling AE title not recognized.
REJECT_UNKNOWN_PEER = (0x01, 0x01, 0x03)
#: An A-ASSOCIATE-RQ carries up to 128 presentation contexts: well under this.
MIN_PDU_ALLOWANCE = 64 * 1024


class PeerCheckingACSE(ACSE):
    """ACSE that accepts a calling AE title only from the hosts configured for it."""

    def __init__(self, assoc: Any, peers: Mapping[str, frozenset[str]]) -> None:
        super().__init__(assoc)
        self._peers = peers

    def _negotiate_as_acceptor(self) -> None:
        request, address = self.requestor.primitive, self.assoc.requestor.address_info
        calling = str(request.calling_ae_title if request else "").strip()
        host = address.address if address else ""
        if host not in self._peers.get(calling, frozenset()):
            log.info("association refused: peer not allowed")
            self.send_reject(*REJECT_UNKNOWN_PEER)
            evt.trigger(self.assoc, evt.EVT_REJECTED, {})
            self.assoc.kill()
            return
        super()._negotiate_as_acceptor()


class LimitedSocket(AssociationSocket):
    """Refuses to read a PDU declared longer than ``limit`` (the read would buffer it).

    Made from the acceptor's own socket by :func:`limit_socket` (constructing a second
    socket for the connection would signal a second transport connection to the DUL).
    """

    limit: int

    def recv(self, nr_bytes: int) -> bytearray:
        if nr_bytes > self.limit:
            log.warning("a peer declared a %d-byte PDU; closing the connection", nr_bytes)
            self._shutdown_socket()  # nothing more is read from it; the DUL sees Evt17
            if not self.assoc.is_established:
                # before an A-ASSOCIATE-RQ the acceptor waits on this queue for the ACSE
                # timeout; None is what it gets when that wait ends, and it then gives up
                self.assoc.dul.to_user_queue.put(None)
            raise OSError("PDU longer than the maximum announced")
        return super().recv(nr_bytes)


def limit_socket(sock: AssociationSocket, limit: int) -> None:
    """Give ``sock`` the PDU length check of :class:`LimitedSocket`, in place."""
    sock.__class__ = LimitedSocket
    assert isinstance(sock, LimitedSocket)
    sock.limit = limit


def handler_class(peers: Mapping[str, frozenset[str]], max_pdu_bytes: int) -> type[RequestHandler]:
    """A pynetdicom request handler with our ACSE and socket in each acceptor."""
    limit = max(max_pdu_bytes + 1024, MIN_PDU_ALLOWANCE)

    class Handler(RequestHandler):
        def _create_association(self) -> Any:
            assoc = super()._create_association()
            assoc.acse = PeerCheckingACSE(assoc, peers)
            assert assoc.dul.socket is not None  # set by the base class, for this request
            limit_socket(assoc.dul.socket, limit)
            return assoc

    return Handler
