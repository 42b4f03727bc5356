"""Decode revert data into the contracts' custom errors (selector + ABI-encoded arguments)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Any

from eth_abi.abi import decode
from eth_utils.crypto import keccak

from contracts.artifacts import load_all

#: Solidity's built-in ``Error(string)`` and ``Panic(uint256)`` reverts.
_BUILTIN: dict[bytes, tuple[str, tuple[str, ...]]] = {
    keccak(text="Error(string)")[:4]: ("Error", ("string",)),
    keccak(text="Panic(uint256)")[:4]: ("Panic", ("uint256",)),
}


@dataclass(frozen=True, slots=True)
class DecodedError:
    """A revert reason: the error's name and its decoded arguments."""

    name: str
    args: tuple[Any, ...]


def _canonical_type(item: dict[str, Any]) -> str:
    kind: str = item["type"]
    if kind.startswith("tuple"):
        inner = ",".join(_canonical_type(c) for c in item["components"])
        return f"({inner}){kind[len('tuple') :]}"
    return kind


@cache
def error_registry() -> dict[bytes, tuple[str, tuple[str, ...]]]:
    """Selector -> (name, argument types) over every contract's ABI and the built-ins."""
    registry: dict[bytes, tuple[str, tuple[str, ...]]] = dict(_BUILTIN)
    for artifact in load_all().values():
        for item in artifact.abi:
            if item["type"] != "error":
                continue
            types = tuple(_canonical_type(i) for i in item["inputs"])
            selector = keccak(text=f"{item['name']}({','.join(types)})")[:4]
            registry[selector] = (item["name"], types)
    return registry


def decode_revert(data: bytes) -> DecodedError | None:
    """The custom error in ``data``, or ``None`` when the data names no known error."""
    if len(data) < 4:
        return None
    entry = error_registry().get(bytes(data[:4]))
    if entry is None:
        return None
    name, types = entry
    try:
        args = decode(list(types), bytes(data[4:]), strict=True)
    except Exception:  # malformed arguments: the selector alone still names the error
        return DecodedError(name=name, args=())
    return DecodedError(name=name, args=tuple(args))
