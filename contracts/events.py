"""Decode the suite's event logs from the ABIs: the one decoder of follower, cache and audit.

Logs come either from web3.py (``bytes`` topics and data, checksummed addresses) or raw from
``eth_getLogs`` (``0x`` hex strings); both decode the same. Arguments come out as ABI
values with addresses checksummed; an indexed dynamic argument (a string or bytes) is its
32-byte topic, the keccak hash the chain keeps of it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any

from eth_abi.abi import decode
from eth_abi.exceptions import DecodingError
from eth_utils.address import to_checksum_address
from eth_utils.crypto import keccak

from contracts.artifacts import CONTRACT_NAMES, load_artifact
from contracts.exceptions import ChainUnavailable
from contracts.typing import SuiteAddresses

_DYNAMIC = ("string", "bytes")


@dataclass(frozen=True, slots=True)
class EventSpec:
    """How to decode one event of one contract."""

    contract: str
    name: str
    topic: bytes
    indexed: tuple[tuple[str, str], ...]
    data: tuple[tuple[str, str], ...]


@dataclass(frozen=True, slots=True)
class LogEvent:
    """One decoded log, with its position on chain."""

    contract: str
    address: str
    name: str
    block_number: int
    log_index: int
    tx_hash: bytes
    args: dict[str, Any]

    @property
    def position(self) -> tuple[int, int]:
        """Chain order: block, then position in the block."""
        return (self.block_number, self.log_index)


def _canonical(item: Mapping[str, Any]) -> str:
    kind: str = item["type"]
    if kind.startswith("tuple"):
        return f"({','.join(_canonical(c) for c in item['components'])}){kind[len('tuple') :]}"
    return kind


@cache
def contract_events(contract: str) -> dict[bytes, EventSpec]:
    """topic0 -> spec, for every event in ``contract``'s ABI."""
    table: dict[bytes, EventSpec] = {}
    for item in load_artifact(contract).abi:
        if item["type"] != "event" or item.get("anonymous"):
            continue
        inputs = [(i["name"], _canonical(i), bool(i["indexed"])) for i in item["inputs"]]
        topic = keccak(text=f"{item['name']}({','.join(k for _, k, _ in inputs)})")
        table[topic] = EventSpec(
            contract,
            item["name"],
            topic,
            tuple((n, k) for n, k, indexed in inputs if indexed),
            tuple((n, k) for n, k, indexed in inputs if not indexed),
        )
    return table


def event_topic(contract: str, name: str) -> bytes:
    """Topic 0 of event ``name`` of ``contract`` (keccak of its canonical signature)."""
    for spec in contract_events(contract).values():
        if spec.name == name:
            return spec.topic
    raise KeyError(f"{contract} has no event {name}")


def _bytes(value: Any) -> bytes:
    if isinstance(value, str):
        return bytes.fromhex(value.removeprefix("0x"))
    return bytes(value)


def _int(value: Any) -> int:
    return int(value, 16) if isinstance(value, str) else int(value)


def _norm(kind: str, value: Any) -> Any:
    if kind == "address":
        return str(to_checksum_address(value))
    if kind.endswith("]") and kind.startswith("address"):
        return [str(to_checksum_address(v)) for v in value]
    return value


def decode_args(spec: EventSpec, topics: list[bytes], data: bytes) -> dict[str, Any]:
    """The event's arguments in declaration order of indexed, then data arguments.

    Raises ``DecodingError``/``ValueError`` for topics or data that do not fit the spec.
    """
    if len(topics) != len(spec.indexed) + 1:
        raise ValueError(f"{spec.name} has {len(spec.indexed)} indexed arguments")
    args: dict[str, Any] = {}
    for (name, kind), topic in zip(spec.indexed, topics[1:], strict=True):
        dynamic = kind in _DYNAMIC or kind.endswith("]") or kind.startswith("(")
        args[name] = topic if dynamic else _norm(kind, decode([kind], topic)[0])
    values = decode([k for _, k in spec.data], data)
    for (name, kind), value in zip(spec.data, values, strict=True):
        args[name] = _norm(kind, value)
    return args


class EventDecoder:
    """Decoded logs of the suite's contracts at their deployed addresses.

    Parameters
    ----------
    addresses
        The deployed suite.
    contracts
        The contracts whose logs are decoded (default: all four).
    """

    def __init__(self, addresses: SuiteAddresses, contracts: Iterable[str] = CONTRACT_NAMES):
        self._by_address: dict[str, tuple[str, str]] = {}
        for contract in contracts:
            address = str(to_checksum_address(getattr(addresses, contract.lower())))
            self._by_address[address.lower()] = (contract, address)

    def addresses(self) -> list[str]:
        """The decoded contracts' addresses (checksummed)."""
        return [address for _, address in self._by_address.values()]

    def spec(self, log: Mapping[str, Any]) -> EventSpec | None:
        """How to decode ``log``; ``None`` for a log of another contract or event."""
        found = self._by_address.get(str(log["address"]).lower())
        topics = log["topics"]
        if found is None or not topics:
            return None
        return contract_events(found[0]).get(_bytes(topics[0]))

    def decode(self, log: Mapping[str, Any], *, strict: bool = False) -> LogEvent | None:
        """The decoded event, or ``None`` for any other log.

        Raises
        ------
        ChainUnavailable
            The log is not one of ours (``strict``) or does not fit its event's ABI:
            only a faulty or lying node answers with such logs.
        """
        try:
            spec = self.spec(log)
            if spec is None:
                if strict:
                    raise ChainUnavailable("the node returned an undecodable log: unknown event")
                return None
            args = decode_args(spec, [_bytes(t) for t in log["topics"]], _bytes(log["data"]))
            return LogEvent(
                contract=spec.contract,
                address=self._by_address[str(log["address"]).lower()][1],
                name=spec.name,
                block_number=_int(log["blockNumber"]),
                log_index=_int(log["logIndex"]),
                tx_hash=_bytes(log["transactionHash"]),
                args=args,
            )
        except (KeyError, IndexError, TypeError, ValueError, DecodingError) as exc:
            why = f"{type(exc).__name__}: {exc}"[:300]
            raise ChainUnavailable(f"the node returned an undecodable log: {why}") from exc
