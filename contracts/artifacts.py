"""Load the committed compiled contracts (ABI + bytecode); needs no Node.js and no compiler."""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from contracts.exceptions import ArtifactError

ARTIFACTS_DIR = Path(__file__).resolve().parent / "artifacts"
CONTRACT_NAMES = ("Consortium", "Anchors", "Referrals", "Grants")


@dataclass(frozen=True, slots=True)
class Artifact:
    """One compiled contract as committed under ``contracts/artifacts/``."""

    name: str
    abi: list[dict[str, Any]]
    bytecode: bytes
    deployed_bytecode: bytes
    metadata: str
    compiler_version: str
    source_sha256: str


@cache
def load_artifact(name: str) -> Artifact:
    """The committed artifact of contract ``name``; raises ``ArtifactError`` if unusable."""
    if name not in CONTRACT_NAMES:
        raise ArtifactError(f"unknown contract {name!r}; known: {', '.join(CONTRACT_NAMES)}")
    path = ARTIFACTS_DIR / f"{name}.json"
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
        return Artifact(
            name=doc["contractName"],
            abi=doc["abi"],
            bytecode=bytes.fromhex(doc["bytecode"].removeprefix("0x")),
            deployed_bytecode=bytes.fromhex(doc["deployedBytecode"].removeprefix("0x")),
            metadata=doc["metadata"],
            compiler_version=doc["compiler"]["version"],
            source_sha256=doc["sourceSha256"],
        )
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ArtifactError(f"artifact {path} is missing or malformed: {exc}") from exc


def load_all() -> dict[str, Artifact]:
    """Every deployable contract's artifact by name."""
    return {name: load_artifact(name) for name in CONTRACT_NAMES}
