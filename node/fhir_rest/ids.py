"""Server-assigned ids and ``urn:uuid:`` references resolved before anything is hashed.

The stored record is what a reader gets back, so its references must name real resources:
an Observation whose subject is ``urn:uuid:…`` (a placeholder meaningful only inside the
Bundle that carried it) is rewritten to ``Patient/<assigned id>`` before canonicalisation,
and its content hash covers the rewritten form. A placeholder left unresolved is refused.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

from node.fhir_rest.entries import Planned, check_id
from node.fhir_rest.outcome import FhirRestError

PLACEHOLDER_PREFIXES = ("urn:uuid:", "urn:oid:")


def new_id() -> str:
    """A fresh logical id (a UUID: unguessable, reveals nothing about the patient)."""
    return str(uuid.uuid4())


def identifier_search(text: str, where: str) -> tuple[str, str]:
    """``identifier=system|value`` (or ``identifier=value``) of an ``ifNoneExist``."""
    name, _, value = text.partition("=")
    if name != "identifier" or not value or "&" in value:
        raise FhirRestError(400, f"{where}: ifNoneExist supports identifier=system|value only",
                            code="not-supported")  # fmt: skip
    system, bar, code = value.partition("|")
    return (system, code) if bar else ("", system)


def assign_ids(planned: list[Planned], *, lookup: Callable[[str, str], str | None]) -> list[bool]:
    """Give every create an id; ``lookup(system, value)`` answers a conditional create.

    Returns, per entry, whether it matched an existing Patient (a conditional create that
    creates nothing). Raises :class:`FhirRestError` for two writes of one ``Type/id``.
    """
    matched: list[bool] = []
    for p in planned:
        found = None
        if p.method == "POST" and p.if_none_exist is not None:
            if p.rtype != "Patient":
                raise FhirRestError(400, f"entry[{p.index}]: ifNoneExist is supported for "
                                    "Patient only", code="not-supported")  # fmt: skip
            found = lookup(*identifier_search(p.if_none_exist, f"entry[{p.index}]"))
        if p.rid is None:
            p.rid = found or new_id()
        check_id(p.rid, f"entry[{p.index}]")
        matched.append(found is not None)
    seen: set[tuple[str, str | None]] = set()
    for p in planned:
        if (p.rtype, p.rid) in seen:
            raise FhirRestError(400, f"entry[{p.index}]: the Bundle writes this resource twice")
        seen.add((p.rtype, p.rid))
    return matched


def placeholders(planned: list[Planned]) -> dict[str, str]:
    """``fullUrl`` → ``Type/id`` for every entry that has a fullUrl."""
    urls: dict[str, str] = {}
    for p in planned:
        if p.full_url:
            urls[p.full_url] = f"{p.rtype}/{p.rid}"
    return urls


def _rewrite(value: Any, urls: dict[str, str], where: str) -> Any:
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            if key == "reference" and isinstance(item, str):
                if item in urls:
                    item = urls[item]
                elif item.startswith(PLACEHOLDER_PREFIXES):
                    raise FhirRestError(400, f"{where}: a reference names a placeholder that no"
                                        " entry of this transaction has as fullUrl")  # fmt: skip
                out[key] = item
            else:
                out[key] = _rewrite(item, urls, where)
        return out
    if isinstance(value, list):
        return [_rewrite(item, urls, where) for item in value]
    return value


def resolve(p: Planned, urls: dict[str, str]) -> dict[str, Any]:
    """The entry's resource with its id set and its placeholder references resolved."""
    resource = _rewrite(p.resource, urls, f"entry[{p.index}]")
    resource["id"] = p.rid
    return resource  # type: ignore[no-any-return]
