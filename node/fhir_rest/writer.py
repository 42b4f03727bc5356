"""Writing planned resources as records: validate all, then seal and commit in one group.

Each resource is its own record (its own data key, content hash, anchor and version chain),
so a Location ``Type/id/_history/n`` names exactly one anchored record. A transaction is all
or nothing: every entry is validated and sealed before anything is stored, and the records
are queued by :func:`node.ingest.group.commit_group`, one outbox transaction. A batch
commits its valid entries the same way and reports each refused one in its place.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from keys.abc import KeyringAPI
from keys.typing import RecordId
from node.exceptions import IngestError
from node.fhir_rest.abc import ResourceIndexAPI
from node.fhir_rest.entries import Planned
from node.fhir_rest.ids import assign_ids, placeholders, resolve
from node.fhir_rest.outcome import FhirRestError, from_ingest_error
from node.formats.fhir import FhirPayload, parse_fhir
from node.formats.fhir_patient import record_patient_id
from node.ingest.core import IngestReceipt, SealedRecord, seal
from node.ingest.group import commit_group
from node.pseudonym import ConsortiumPseudonymizer
from node.service import NodeService


@dataclass(frozen=True, slots=True)
class Written:
    """One entry's outcome: where it lives now and the HTTP status of its write."""

    index: int
    rtype: str
    rid: str
    version: int
    status: int
    record_id: RecordId
    resource: dict[str, Any] = field(repr=False)


@dataclass(slots=True)
class _Ready:
    planned: Planned
    resource: dict[str, Any] = field(repr=False)
    payload: FhirPayload | None = field(repr=False)  # None: a conditional create that matched


def identifier_key(pseudonymizer: ConsortiumPseudonymizer, system: str, value: str) -> bytes:
    """A keyed hash of ``system|value``: identifiers are indexed without being stored."""
    return bytes(pseudonymizer.pseudonym(f"identifier|{system}|{value}"))


def patient_identifiers(resource: dict[str, Any]) -> list[tuple[str, str]]:
    """``(system, value)`` of a Patient's identifiers that have a value."""
    found = []
    for ident in resource.get("identifier") or []:
        if isinstance(ident, dict) and isinstance(ident.get("value"), str):
            system = ident.get("system")
            found.append((system if isinstance(system, str) else "", ident["value"]))
    return found


class FhirWriter:
    """Creates and updates FHIR resources as node records, keeping the index in step."""

    def __init__(self, node: NodeService, index: ResourceIndexAPI) -> None:
        self.node = node
        self.index = index
        #: The hospital's keyring for reads (``None``: reads need the node's own wrapper).
        self.keyring: KeyringAPI | None = None

    def _key(self, system: str, value: str) -> bytes:
        try:
            return identifier_key(self.node.parts.pseudonymizer, system, value)
        except IngestError as exc:
            raise from_ingest_error(exc, "identifier") from None

    def lookup(self, system: str, value: str) -> str | None:
        """The Patient id registered for an identifier (a conditional create's match)."""
        return self.index.patient_for(self._key(system, value))

    def _prepare(self, p: Planned, urls: dict[str, str], fallback: str | None,
                 matched: bool) -> _Ready:  # fmt: skip
        resource = resolve(p, urls)
        if matched:
            return _Ready(p, resource, None)
        where = f"entry[{p.index}]"
        try:
            named = record_patient_id(resource)
            payload = parse_fhir(json.dumps(resource).encode(),
                                 patient_id=None if named else fallback)  # fmt: skip
        except IngestError as exc:
            raise from_ingest_error(exc, where) from None
        return _Ready(p, resource, payload)

    def _commit(self, ready: list[_Ready]) -> list[Written]:
        parts = self.node.seal_parts()
        todo = [r for r in ready if r.payload is not None]
        sealed: list[SealedRecord] = []
        for r in todo:
            assert r.payload is not None
            sealed.append(seal(parts=parts, kind=r.payload.kind, canonical=r.payload.canonical,
                               local_patient_id=r.payload.patient_id))  # fmt: skip
        receipts = commit_group(store=self.node.parts.store, outbox=self.node.outbox(),
                                records=sealed)  # fmt: skip
        self.node.notify()
        by_index: dict[int, IngestReceipt] = {
            r.planned.index: rec for r, rec in zip(todo, receipts, strict=True)
        }
        return [self._indexed(r, by_index.get(r.planned.index)) for r in ready]

    def _indexed(self, r: _Ready, receipt: IngestReceipt | None) -> Written:
        p = r.planned
        assert p.rid is not None
        current = self.index.current(p.rtype, p.rid)
        if receipt is None and current is None:  # an identifier claimed, its write lost
            raise FhirRestError(409, f"entry[{p.index}]: the identifier's Patient has no stored"
                                " version; send it without ifNoneExist")  # fmt: skip
        if current is not None and (receipt is None or current[1] == receipt.record_id):
            return Written(p.index, p.rtype, p.rid, current[0], 200, current[1], r.resource)
        assert receipt is not None
        version = self.index.add_version(p.rtype, p.rid, receipt.record_id)
        if p.rtype == "Patient":
            for system, value in patient_identifiers(r.resource):
                self.index.claim_identifier(self._key(system, value), p.rid)
        status = 201 if version == 1 else 200
        return Written(p.index, p.rtype, p.rid, version, status, receipt.record_id, r.resource)

    def transaction(self, planned: list[Planned]) -> list[Written]:
        """All entries or none (raises the first entry's :class:`FhirRestError`)."""
        matched = assign_ids(planned, lookup=self.lookup)
        urls = placeholders(planned)
        patients = {p.rid for p in planned if p.rtype == "Patient"}
        fallback = next(iter(patients)) if len(patients) == 1 else None
        ready = [self._prepare(p, urls, fallback, m) for p, m in zip(planned, matched, strict=True)]
        return self._commit(ready)

    def batch(self, planned: list[Planned | FhirRestError]) -> list[Written | FhirRestError]:
        """Each entry on its own: the valid ones are written, the others keep their error."""
        ready: list[_Ready] = []
        results: dict[int, Written | FhirRestError] = {}
        for i, p in enumerate(planned):
            if isinstance(p, FhirRestError):
                results[i] = p
                continue
            try:
                (matched,) = assign_ids([p], lookup=self.lookup)
                ready.append(self._prepare(p, {}, None, matched))
            except FhirRestError as exc:
                results[i] = exc
        for w in self._commit(ready):
            results[w.index] = w
        return [results[i] for i in range(len(planned))]
