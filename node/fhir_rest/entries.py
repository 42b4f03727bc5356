"""Reading a transaction or batch Bundle into planned writes (no id assigned yet).

Only what the facade implements is accepted: ``POST Type`` (create, optionally conditional
on ``ifNoneExist: identifier=system|value``) and ``PUT Type/id`` (update or create with the
client's id). Anything else is refused naming the entry, never quoting a value.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from node.fhir_rest.capability import RESOURCE_TYPES
from node.fhir_rest.outcome import FhirRestError

#: FHIR ``id``: 1..64 of ``[A-Za-z0-9\-\.]``.
ID = re.compile(r"[A-Za-z0-9\-.]{1,64}")
MAX_ENTRIES = 1000


@dataclass(slots=True)
class Planned:
    """One write: the entry's place, method, type, id (``None`` until assigned), resource."""

    index: int
    method: str
    rtype: str
    rid: str | None
    resource: dict[str, Any] = field(repr=False)
    full_url: str | None = None
    if_none_exist: str | None = field(default=None, repr=False)


def check_type(rtype: str, where: str) -> None:
    if rtype not in RESOURCE_TYPES:
        raise FhirRestError(422, f"{where}: resource type not supported here", code="not-supported")


def check_id(rid: str, where: str) -> None:
    if not ID.fullmatch(rid):
        raise FhirRestError(400, f"{where}: not a FHIR id ([A-Za-z0-9-.]{{1,64}})", code="value")


def plan_resource(resource: Any, *, index: int, method: str, url_type: str,
                  url_id: str | None, where: str) -> Planned:  # fmt: skip
    """One write from a resource and the type/id its URL names (the two must agree)."""
    if not isinstance(resource, dict):
        raise FhirRestError(400, f"{where}: a resource is a JSON object")
    rtype = resource.get("resourceType")
    if rtype != url_type:
        raise FhirRestError(400, f"{where}: resourceType does not match the request URL")
    check_type(url_type, where)
    body_id = resource.get("id")
    if method == "PUT":
        assert url_id is not None
        check_id(url_id, where)
        if body_id is not None and body_id != url_id:
            raise FhirRestError(400, f"{where}: the resource id differs from the URL's id")
        return Planned(index, method, rtype, url_id, resource)
    # create: a client id is ignored (the server assigns ids), as FHIR's create says
    return Planned(index, method, rtype, None, resource)


def _request(entry: dict[str, Any], where: str) -> tuple[str, str, str | None, str | None]:
    request = entry.get("request")
    if not isinstance(request, dict):
        raise FhirRestError(400, f"{where}: entry.request is required in a transaction/batch")
    method, url = request.get("method"), request.get("url")
    if not isinstance(method, str) or not isinstance(url, str):
        raise FhirRestError(400, f"{where}: entry.request needs method and url")
    if method not in ("POST", "PUT"):
        raise FhirRestError(405, f"{where}: only POST and PUT entries are supported",
                            code="not-supported")  # fmt: skip
    path = url.split("?", 1)[0].strip("/")
    parts = path.split("/")
    if method == "POST" and len(parts) == 1:
        if_none = request.get("ifNoneExist")
        return method, parts[0], None, if_none if isinstance(if_none, str) else None
    if method == "PUT" and len(parts) == 2:
        return method, parts[0], parts[1], None
    raise FhirRestError(400, f"{where}: entry.request.url must be Type (POST) or Type/id (PUT)")


def plan_entry(entry: Any, index: int) -> Planned:
    """One Bundle entry as a write; raises :class:`FhirRestError` naming ``entry[i]``."""
    where = f"entry[{index}]"
    if not isinstance(entry, dict):
        raise FhirRestError(400, f"{where}: an entry is a JSON object")
    method, rtype, rid, if_none = _request(entry, where)
    planned = plan_resource(entry.get("resource"), index=index, method=method, url_type=rtype,
                            url_id=rid, where=where)  # fmt: skip
    full_url = entry.get("fullUrl")
    planned.full_url = full_url if isinstance(full_url, str) else None
    planned.if_none_exist = if_none
    return planned


def bundle_entries(doc: Any) -> tuple[str, list[Any]]:
    """The Bundle's type (``transaction`` or ``batch``) and its raw entries."""
    if not isinstance(doc, dict) or doc.get("resourceType") != "Bundle":
        raise FhirRestError(400, "POST /fhir takes a Bundle of type transaction or batch")
    btype = doc.get("type")
    if btype not in ("transaction", "batch"):
        raise FhirRestError(422, "Bundle.type must be transaction or batch", code="not-supported")
    entries = doc.get("entry") or []
    if not isinstance(entries, list):
        raise FhirRestError(400, "Bundle.entry must be an array")
    if len(entries) > MAX_ENTRIES:
        raise FhirRestError(413, f"a Bundle holds at most {MAX_ENTRIES} entries")
    return btype, entries
