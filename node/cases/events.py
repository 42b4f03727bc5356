"""Decode the ``Referrals``/``Grants`` event logs the follower reacts to, from the ABIs."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Any

from eth_abi.abi import decode
from eth_utils.address import to_checksum_address
from eth_utils.crypto import keccak

from contracts.artifacts import load_artifact
from node.cases.views import CaseEvent

#: The events a hospital node acts on or keeps in its case history.
FOLLOWED = {
    "Referrals": ("ReferralInitiated", "ReferralAccepted", "ReferralDeclined",
                  "ReferralCompleted", "ReferralCancelled"),
    "Grants": ("GrantIssued", "GrantRevoked"),
}  # fmt: skip


@dataclass(frozen=True, slots=True)
class _EventAbi:
    name: str
    indexed: tuple[tuple[str, str], ...]
    data: tuple[tuple[str, str], ...]


@cache
def event_abis() -> dict[bytes, _EventAbi]:
    """topic0 -> how to decode, for every followed event."""
    table: dict[bytes, _EventAbi] = {}
    for contract, names in FOLLOWED.items():
        for item in load_artifact(contract).abi:
            if item["type"] != "event" or item["name"] not in names:
                continue
            inputs = item["inputs"]
            signature = f"{item['name']}({','.join(i['type'] for i in inputs)})"
            table[keccak(text=signature)] = _EventAbi(
                item["name"],
                tuple((i["name"], i["type"]) for i in inputs if i["indexed"]),
                tuple((i["name"], i["type"]) for i in inputs if not i["indexed"]),
            )
    return table


def _norm(kind: str, value: Any) -> Any:
    if kind == "address":
        return str(to_checksum_address(value))
    return value


def decode_log(log: Any) -> CaseEvent | None:
    """A followed event, or ``None`` for any other log."""
    topics = [bytes(t) for t in log["topics"]]
    if not topics or (spec := event_abis().get(topics[0])) is None:
        return None
    args: dict[str, Any] = {}
    for (name, kind), topic in zip(spec.indexed, topics[1:], strict=True):
        args[name] = _norm(kind, decode([kind], topic)[0])
    values = decode([k for _, k in spec.data], bytes(log["data"]))
    for (name, kind), value in zip(spec.data, values, strict=True):
        args[name] = _norm(kind, value)
    return CaseEvent(
        name=spec.name,
        block_number=int(log["blockNumber"]),
        log_index=int(log["logIndex"]),
        tx_hash=bytes(log["transactionHash"]),
        args=args,
    )
