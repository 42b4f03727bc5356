"""A granted record bundle POSTed to the hospital's HIS as a FHIR transaction (httpx).

The records are the case's FHIR resources, each verified by the case store before it is
read. A resource with an ``id`` is sent as ``PUT Type/id`` (so references between the
records keep resolving on the HIS); one without as ``POST Type``. A record that is itself a
Bundle contributes its entries' resources.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import httpx

from gateway.destinations import FhirDestination
from gateway.outbound.exceptions import DestinationFailed

FHIR_JSON = "application/fhir+json"
TIMEOUT_S = 30.0
#: A transaction-response names each entry's outcome: far below this. A HIS answering
#: more is cut off rather than read into memory without bound.
MAX_ANSWER_BYTES = 16 * 1024 * 1024


class _TooLarge(Exception):
    pass


def _post(url: str, bundle: dict[str, Any]) -> tuple[int, bytes]:
    """POST and read at most ``MAX_ANSWER_BYTES`` of the answer."""
    body = bytearray()
    headers = {"Content-Type": FHIR_JSON, "Accept": FHIR_JSON}
    with httpx.stream("POST", url, content=json.dumps(bundle).encode(), headers=headers,
                      timeout=TIMEOUT_S) as response:  # fmt: skip
        for chunk in response.iter_bytes():
            body += chunk
            if len(body) > MAX_ANSWER_BYTES:
                raise _TooLarge
        return response.status_code, bytes(body)


@dataclass(frozen=True, slots=True)
class BundleResult:
    entries: int
    status: int


def _resources(record: dict[str, Any]) -> Iterable[dict[str, Any]]:
    if record.get("resourceType") == "Bundle":
        for entry in record.get("entry") or []:
            if isinstance(entry, dict) and isinstance(entry.get("resource"), dict):
                yield entry["resource"]
    else:
        yield record


def _entry(resource: dict[str, Any]) -> dict[str, Any]:
    kind = str(resource["resourceType"])
    if resource.get("id"):
        request = {"method": "PUT", "url": f"{kind}/{resource['id']}"}
        full_url = f"{kind}/{resource['id']}"
    else:
        request = {"method": "POST", "url": kind}
        full_url = f"urn:uuid:{uuid.uuid4()}"
    return {"fullUrl": full_url, "resource": resource, "request": request}


def transaction(records: Iterable[bytes]) -> dict[str, Any]:
    """A transaction Bundle of the resources in ``records`` (verified FHIR JSON bytes)."""
    entries = []
    for data in records:
        record = json.loads(data)
        entries += [_entry(r) for r in _resources(record) if isinstance(r, dict)
                    and isinstance(r.get("resourceType"), str)]  # fmt: skip
    return {"resourceType": "Bundle", "type": "transaction", "entry": entries}


def post(*, name: str, destination: FhirDestination, bundle: dict[str, Any]) -> BundleResult:
    """POST ``bundle`` to the destination's base URL.

    Anything but a 2xx ``transaction-response`` is ``DestinationFailed`` (502), saying what
    the HIS answered.
    """
    try:
        status, body = _post(destination.base_url.rstrip("/"), bundle)
    except httpx.HTTPError as exc:
        raise DestinationFailed(f"FHIR destination {name!r} could not be reached "
                                f"({type(exc).__name__})") from exc  # fmt: skip
    except _TooLarge as exc:
        raise DestinationFailed(f"FHIR destination {name!r} answered more than "
                                f"{MAX_ANSWER_BYTES} bytes") from exc  # fmt: skip
    if not 200 <= status < 300:
        raise DestinationFailed(f"FHIR destination {name!r} answered {status} "
                                "to the transaction")  # fmt: skip
    try:
        answer = json.loads(body)
    except ValueError as exc:
        raise DestinationFailed(f"FHIR destination {name!r} answered something not JSON") from exc
    if not isinstance(answer, dict) or answer.get("type") != "transaction-response":
        raise DestinationFailed(f"FHIR destination {name!r} did not answer a "
                                "transaction-response Bundle")  # fmt: skip
    return BundleResult(len(bundle["entry"]), status)
