"""The suite's addresses from a JSON file and/or explicit options (what ``--contracts`` reads).

Accepted file shapes: ``Deployment.as_dict()`` (``{"Consortium": "0x…", "Anchors": …,
"Referrals": …, "Grants": …}``), the same nested under ``"contracts"``, and an optional
``"fromBlock"`` (first block worth scanning: the deployment block). Names are matched
case-insensitively; explicit options override the file.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from eth_typing import ChecksumAddress
from eth_utils.address import is_address, to_checksum_address

from contracts.artifacts import CONTRACT_NAMES
from contracts.deploy import Deployment
from gateway.audit.errors import AuditError

MAX_FILE_BYTES = 64 * 1024


class BadDeployment(AuditError):
    """The contracts file or options do not name four valid addresses."""

    status_code = 400
    code = "bad_deployment"


@dataclass(frozen=True, slots=True)
class SuiteLocation:
    deployment: Deployment
    from_block: int = 0


def _read(path: Path) -> Mapping[str, Any]:
    try:
        raw = path.read_bytes()[: MAX_FILE_BYTES + 1]
    except OSError as exc:
        raise BadDeployment(f"cannot read {path}: {exc.strerror or exc}") from exc
    if len(raw) > MAX_FILE_BYTES:
        raise BadDeployment(f"{path} is larger than {MAX_FILE_BYTES} bytes")
    try:
        doc = json.loads(raw)
    except ValueError as exc:
        raise BadDeployment(f"{path} is not JSON: {exc}") from exc
    if isinstance(doc, dict) and isinstance(doc.get("contracts"), dict):
        doc = {
            **doc["contracts"],
            **({"fromBlock": doc["fromBlock"]} if "fromBlock" in doc else {}),
        }
    if not isinstance(doc, dict):
        raise BadDeployment(f"{path} must hold a JSON object of contract addresses")
    return doc


def load_suite(path: Path | None, overrides: Mapping[str, str | None]) -> SuiteLocation:
    """The four addresses from ``path`` (if any) with ``overrides`` (name → address) on top.

    Raises
    ------
    BadDeployment
        Unreadable file, a missing or malformed address, a bad ``fromBlock``.
    """
    doc = dict(_read(path)) if path is not None else {}
    lowered = {str(k).lower(): v for k, v in doc.items()}
    addresses: dict[str, ChecksumAddress] = {}
    for name in CONTRACT_NAMES:
        value = overrides.get(name) or lowered.get(name.lower())
        if value is None:
            raise BadDeployment(f"no address for {name}: give --contracts FILE or --{name.lower()}")
        if not isinstance(value, str) or not is_address(value):
            raise BadDeployment(f"{name}: {str(value)[:60]!r} is not a valid address")
        addresses[name] = to_checksum_address(value)
    start = lowered.get("fromblock", 0)
    if not isinstance(start, int) or isinstance(start, bool) or start < 0:
        raise BadDeployment("fromBlock must be a non-negative integer")
    deployment = Deployment(
        consortium=addresses["Consortium"], anchors=addresses["Anchors"],
        referrals=addresses["Referrals"], grants=addresses["Grants"],
    )  # fmt: skip
    return SuiteLocation(deployment, start)
