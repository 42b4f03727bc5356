"""C-STORE of verified instances to a DICOM destination (pynetdicom as the SCU).

One association per push. Each instance is proposed in the transfer syntax it is stored
in, with Explicit and Implicit VR Little Endian as fallbacks; when the destination accepts
only a fallback for an instance's SOP class, the instance is transcoded from its verified
bytes (:mod:`gateway.services.transcode`), never sent unverified.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import pydicom
from pynetdicom import AE
from pynetdicom.presentation import PresentationContext, build_context

from gateway.destinations import DicomDestination
from gateway.domain import InstanceHeader
from gateway.outbound.exceptions import DestinationFailed
from gateway.services.transcode import EXPLICIT_LE, IMPLICIT_LE, transcode

log = logging.getLogger(__name__)
#: pynetdicom (and PS3.8) allow at most 128 presentation contexts per association.
MAX_CONTEXTS = 128
TIMEOUT_S = 30.0

Reader = Callable[[InstanceHeader], bytes]


@dataclass(frozen=True, slots=True)
class StoreResult:
    sent: int
    bytes_sent: int


def _contexts(instances: Sequence[InstanceHeader]) -> list[PresentationContext]:
    """One presentation context per (SOP class, transfer syntax).

    An SCP accepts one syntax per context: proposing them together would let it pick a
    fallback over the stored syntax.
    """
    wanted: dict[str, set[str]] = {}
    for header in instances:
        sop_class = str(header.dataset.get("SOPClassUID", ""))
        wanted.setdefault(sop_class, {EXPLICIT_LE, IMPLICIT_LE}).add(header.transfer_syntax)
    contexts = [build_context(c, [syntax]) for c, syntaxes in wanted.items()
                for syntax in sorted(syntaxes)]  # fmt: skip
    if len(contexts) > MAX_CONTEXTS:
        raise DestinationFailed(
            f"a study needing {len(contexts)} presentation contexts cannot be sent in one "
            f"association (at most {MAX_CONTEXTS})"
        )
    return contexts


def _accepted(assoc: object, sop_class: str) -> set[str]:
    return {
        str(cx.transfer_syntax[0])
        for cx in assoc.accepted_contexts  # type: ignore[attr-defined]
        if str(cx.abstract_syntax) == sop_class
    }


def _fallback(name: str, data: bytes, accepted: set[str]) -> bytes:
    """The instance in a little-endian syntax the destination accepted for its SOP class."""
    if not accepted:
        raise DestinationFailed(
            f"DICOM destination {name!r} accepts no transfer syntax for one of the study's "
            "SOP classes"
        )
    return transcode(data, target=EXPLICIT_LE if EXPLICIT_LE in accepted else IMPLICIT_LE)


def _check(name: str, status: object, index: int, instances: Sequence[InstanceHeader]) -> None:
    """Success (0x0000) or a warning (0xBxxx) stores the instance; anything else fails."""
    code = getattr(status, "Status", None)
    if code is None:  # an empty status: the association was aborted or timed out
        raise DestinationFailed(f"DICOM destination {name!r} stopped answering during the push")
    if not (code == 0 or 0xB000 <= int(code) <= 0xBFFF):
        raise DestinationFailed(
            f"DICOM destination {name!r} did not store instance {index + 1} of "
            f"{len(instances)} (status 0x{int(code):04X})"
        )


def store(*, name: str, destination: DicomDestination, calling_ae: str,
          instances: Sequence[InstanceHeader], read: Reader) -> StoreResult:  # fmt: skip
    """Send ``instances`` (each read, verified, by ``read``) to ``destination``.

    Raises ``DestinationFailed`` if the association cannot be made or any instance is not
    stored with a success or warning status (PS3.4 B.2.3).
    """
    ae = AE(ae_title=calling_ae)
    ae.acse_timeout = ae.dimse_timeout = ae.network_timeout = TIMEOUT_S
    ae.requested_contexts = _contexts(instances)
    assoc = ae.associate(destination.host, destination.port, ae_title=destination.ae_title)
    if not assoc.is_established:
        raise DestinationFailed(f"DICOM destination {name!r} refused or did not answer the "
                                "association")  # fmt: skip
    sent = size = 0
    try:
        for header in instances:
            data = read(header)
            accepted = _accepted(assoc, str(header.dataset.get("SOPClassUID", "")))
            if header.transfer_syntax not in accepted:
                data = _fallback(name, data, accepted)
            _check(name, assoc.send_c_store(pydicom.dcmread(io.BytesIO(data))), sent, instances)
            sent += 1
            size += len(data)
    finally:
        assoc.release()
    return StoreResult(sent, size)
