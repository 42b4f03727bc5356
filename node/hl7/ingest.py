"""One HL7 v2 message in, one ACK out: parse, map to FHIR, ingest as one transaction.

The mapped resources go through the FHIR facade's writer (:class:`node.fhir_rest.writer.
FhirWriter`): the same ids, identifier index, validation, sealing and all-or-nothing commit
as a FHIR transaction Bundle. An ``AA`` is sent only after the records are durably queued
for anchoring; any refusal is an ``AE``/``AR`` whose ERR names the field. Messages are
handled one at a time per node (a lock): a new patient's first two messages must not create
it twice.

A sender that missed our ACK sends the message again (MLLP's only recovery), so a message
must not create its results twice: each resource it makes gets an id derived from the
sender (MSH-3, MSH-4), the control id (MSH-10) and its place in the message, keyed with the
consortium secret, and is written as ``PUT Type/id``; the retransmission rewrites the same
content, which the outbox recognises, and nothing new is stored. (A sender that reuses a
control id for another message makes new versions of that message's resources.)
"""

from __future__ import annotations

import hashlib
import logging
import threading
import uuid
from typing import Any

import hl7

from node.fhir_rest.entries import Planned
from node.fhir_rest.outcome import FhirRestError
from node.fhir_rest.writer import FhirWriter, identifier_key
from node.hl7.ack import bare_nak, reply
from node.hl7.errors import (
    APPLICATION_ERROR,
    DATA_TYPE_ERROR,
    REQUIRED_MISSING,
    UNSUPPORTED_EVENT,
    UNSUPPORTED_MESSAGE_TYPE,
    UNSUPPORTED_VERSION,
    Hl7Error,
    Location,
)
from node.hl7.fields import Seg, fhir_datetime
from node.hl7.patient import identifiers, patient_resource, pid_segment
from node.hl7.pharmacy import medication_request
from node.hl7.results import groups, observation, report
from node.hl7.visit import encounter

log = logging.getLogger(__name__)

EVENTS = {"ADT": frozenset({"A01", "A04", "A08"}), "ORU": frozenset({"R01"}),
          "RDE": frozenset({"O11"})}  # fmt: skip


def _urn() -> str:
    return f"urn:uuid:{uuid.uuid4()}"


class Hl7Ingest:
    """Maps and ingests HL7 v2 messages through a :class:`FhirWriter`."""

    def __init__(self, writer: FhirWriter) -> None:
        self.writer = writer
        self._lock = threading.Lock()

    def handle(self, raw: bytes) -> bytes:
        """The ACK/NAK (bytes, no MLLP framing) for one message's bytes."""
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            error = Hl7Error("the message is not UTF-8", code=DATA_TYPE_ERROR, ack="AR",
                             location=Location("MSH", 1, 18))  # fmt: skip
            return bare_nak(error).encode()
        text = text.replace("\r\n", "\r").replace("\n", "\r").strip("\r")
        try:
            message = hl7.parse(text)
            message.segment("MSH")
        except Exception:  # python-hl7 raises several kinds on malformed text
            error = Hl7Error("not an HL7 v2 message (it must begin with an MSH segment)",
                             code=REQUIRED_MISSING, ack="AR", location=Location("MSH"))  # fmt: skip
            return bare_nak(error).encode()
        try:
            with self._lock:
                self._ingest(message)
        except Hl7Error as exc:
            return reply(message, exc).encode()
        except FhirRestError as exc:
            error = Hl7Error(f"the mapped FHIR was refused: {exc.diagnostics}",
                             code=APPLICATION_ERROR)  # fmt: skip
            return reply(message, error).encode()
        except Exception as exc:  # answer, never drop the connection; log no content
            log.warning("HL7 message failed with %s", type(exc).__name__)
            error = Hl7Error("internal error", code=APPLICATION_ERROR)
            return reply(message, error).encode()
        return reply(message).encode()

    def _check_header(self, message: hl7.Message) -> tuple[str, str]:
        msh = Seg(message, "MSH")
        if not msh.get(10):
            raise Hl7Error("MSH-10: message control id is required", code=REQUIRED_MISSING,
                           ack="AR", location=Location("MSH", 1, 10))  # fmt: skip
        if not msh.get(12).startswith("2."):
            raise Hl7Error("MSH-12: only HL7 v2.x is supported", code=UNSUPPORTED_VERSION,
                           ack="AR", location=Location("MSH", 1, 12))  # fmt: skip
        kind, event = msh.get(9, 1).upper(), msh.get(9, 2).upper()
        if kind not in EVENTS:
            raise Hl7Error("MSH-9: message type not supported (ADT, ORU, RDE)",
                           code=UNSUPPORTED_MESSAGE_TYPE, ack="AR",
                           location=Location("MSH", 1, 9, 1))  # fmt: skip
        if event not in EVENTS[kind]:
            raise Hl7Error("MSH-9: trigger event not supported for this message type",
                           code=UNSUPPORTED_EVENT, ack="AR",
                           location=Location("MSH", 1, 9, 2))  # fmt: skip
        return kind, event

    def _patient(self, message: hl7.Message, *, update: bool) -> tuple[list[Planned], str]:
        """The patient writes (if any) and the reference the other resources use."""
        pid = pid_segment(message)
        resource = patient_resource(pid)
        system, value = identifiers(pid)[0]
        found = self.writer.lookup(system, value)
        if found is not None:
            writes = [Planned(0, "PUT", "Patient", found, resource)] if update else []
            return writes, f"Patient/{found}"
        urn = _urn()
        condition = f"identifier={system}|{value}"
        created = Planned(0, "POST", "Patient", None, resource, full_url=urn,
                          if_none_exist=condition)  # fmt: skip
        return [created], urn

    def _stable_id(self, message: hl7.Message, place: int) -> str:
        msh = Seg(message, "MSH")
        origin = f"{msh.get(3)}|{msh.get(4)}|{msh.get(10)}|{place}".encode()
        key = identifier_key(self.writer.node.parts.pseudonymizer, "hl7-message",
                             hashlib.sha256(origin).hexdigest())  # fmt: skip
        return str(uuid.UUID(bytes=key[:16], version=4))

    def _ingest(self, message: hl7.Message) -> None:
        kind, event = self._check_header(message)
        planned, subject = self._patient(message, update=kind == "ADT")
        resources: list[tuple[str | None, dict[str, Any]]] = []
        if kind == "ADT" and (visit := encounter(message, event, subject)) is not None:
            resources.append((None, visit))
        if kind == "ORU":
            for obr, obxs in groups(message):
                urns = [_urn() for _ in obxs]
                effective = fhir_datetime(obr, 7)
                for urn, obx in zip(urns, obxs, strict=True):
                    resources.append((urn, observation(obx, subject, effective)))
                resources.append((None, report(obr, subject, urns)))
        elif kind == "RDE":
            resources.append((None, medication_request(message, subject)))
        for place, (url, resource) in enumerate(resources):
            rid = self._stable_id(message, place)
            planned.append(Planned(len(planned), "PUT", resource["resourceType"], rid,
                                   resource, full_url=url))  # fmt: skip
        for i, p in enumerate(planned):
            p.index = i
        if planned:
            self.writer.transaction(planned)
