"""Validation and normalization of method parameters on the way in.

A method declares its positional parameters as :class:`Param` specs; :func:`bind` checks the
count, decodes each value and raises ``InvalidParams`` naming the parameter and the reason.
Decoders return typed Python values; block references stay unresolved (:class:`BlockRef`)
because resolving them needs the ledger.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Final, Literal, cast

from ledger.rpc.errors import InvalidParams
from ledger.rpc.hexcodec import decode_data, decode_quantity
from ledger.typing import Address, Hash32

BlockTag = Literal["latest", "earliest", "pending", "safe", "finalized"]
BLOCK_TAGS: Final = frozenset({"latest", "earliest", "pending", "safe", "finalized"})
MAX_FILTER_ADDRESSES: Final = 1000
MAX_TOPIC_POSITIONS: Final = 4
MAX_TOPIC_ALTERNATIVES: Final = 1000
MAX_CALL_DATA: Final = 1 << 20

_MISSING: Final = object()


@dataclass(frozen=True, slots=True)
class BlockRef:
    """A block as a client named it: a tag, a number or (EIP-1898) a hash."""

    tag: BlockTag | None = None
    number: int | None = None
    block_hash: Hash32 | None = None


@dataclass(frozen=True, slots=True)
class FilterSpec:
    """An ``eth_getLogs``/``logs`` subscription filter before block resolution."""

    from_block: BlockRef
    to_block: BlockRef
    addresses: tuple[Address, ...]
    topics: tuple[tuple[Hash32, ...] | None, ...]
    block_hash: Hash32 | None = None


@dataclass(frozen=True, slots=True)
class CallSpec:
    """An ``eth_call`` transaction object, decoded."""

    to: Address | None
    sender: Address | None
    data: bytes
    value: int
    gas: int | None
    gas_price: int | None


Decoder = Callable[[Any], Any]


@dataclass(frozen=True, slots=True)
class Param:
    """One positional parameter: its name (for errors), decoder and default if optional."""

    name: str
    decode: Decoder
    default: Any = _MISSING

    @property
    def required(self) -> bool:
        return self.default is _MISSING


def bind(params: Sequence[Param], values: Any) -> list[Any]:
    """Decode positional ``values`` against ``params``; raise ``InvalidParams`` on any misfit."""
    if values is None:
        values = []
    if isinstance(values, dict):
        raise InvalidParams("params must be an array (by-name params are not supported)")
    if not isinstance(values, list):
        raise InvalidParams("params must be an array")
    if len(values) > len(params):
        raise InvalidParams(
            f"too many arguments, want at most {len(params)}",
            data={"expected_max": len(params), "got": len(values)},
        )
    decoded: list[Any] = []
    for index, param in enumerate(params):
        if index >= len(values) or (values[index] is None and not param.required):
            if param.required:
                raise InvalidParams(
                    f"missing value for required argument {index} ({param.name})",
                    data={"param": param.name, "index": index, "reason": "missing"},
                )
            decoded.append(param.default)
            continue
        try:
            decoded.append(param.decode(values[index]))
        except ValueError as exc:
            raise InvalidParams(
                f"invalid argument {index} ({param.name}): {exc}",
                data={"param": param.name, "index": index, "reason": str(exc)},
            ) from None
    return decoded


def quantity(value: Any) -> int:
    return decode_quantity(value)


def small_quantity(value: Any) -> int:
    """A quantity that fits in 64 bits (counts, block numbers, gas)."""
    return decode_quantity(value, max_value=2**64 - 1)


def data(value: Any) -> bytes:
    return decode_data(value, max_size=MAX_CALL_DATA)


def address(value: Any) -> Address:
    return Address(decode_data(value, size=20))


def hash32(value: Any) -> Hash32:
    return Hash32(decode_data(value, size=32))


def boolean(value: Any) -> bool:
    if not isinstance(value, bool):
        raise ValueError(f"expected true or false, got {type(value).__name__}")
    return value


def block_ref(value: Any) -> BlockRef:
    """A block tag, number, or EIP-1898 object ``{blockNumber}``/``{blockHash}``."""
    if isinstance(value, str):
        if value in BLOCK_TAGS:
            return BlockRef(tag=cast(BlockTag, value))
        if value.startswith(("0x", "0X")):
            if len(value) == 66:  # geth's BlockNumberOrHash: a 32-byte hex string is a hash
                return BlockRef(block_hash=hash32(value))
            return BlockRef(number=small_quantity(value))
        raise ValueError(f"expected a block number or one of {sorted(BLOCK_TAGS)}")
    if isinstance(value, dict):
        if set(value) - {"blockNumber", "blockHash", "requireCanonical"}:
            raise ValueError("unknown key in block object")
        if ("blockNumber" in value) == ("blockHash" in value):
            raise ValueError("block object needs exactly one of blockNumber, blockHash")
        if "blockHash" in value:
            return BlockRef(block_hash=hash32(value["blockHash"]))
        return block_ref(value["blockNumber"])
    raise ValueError("expected a block number, tag or block object")


def _addresses(value: Any) -> tuple[Address, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        return (address(value),)
    if isinstance(value, list):
        if len(value) > MAX_FILTER_ADDRESSES:
            raise ValueError(f"more than {MAX_FILTER_ADDRESSES} addresses")
        return tuple(address(item) for item in value)
    raise ValueError("address must be an address or a list of addresses")


def _topics(value: Any) -> tuple[tuple[Hash32, ...] | None, ...]:
    if value is None:
        return ()
    if not isinstance(value, list):
        raise ValueError("topics must be a list")
    if len(value) > MAX_TOPIC_POSITIONS:
        raise ValueError(f"more than {MAX_TOPIC_POSITIONS} topic positions")
    topics: list[tuple[Hash32, ...] | None] = []
    for position in value:
        if position is None:
            topics.append(None)
        elif isinstance(position, str):
            topics.append((hash32(position),))
        elif isinstance(position, list):
            if len(position) > MAX_TOPIC_ALTERNATIVES:
                raise ValueError(f"more than {MAX_TOPIC_ALTERNATIVES} topic alternatives")
            alternatives = tuple(hash32(item) for item in position if item is not None)
            # [null] or [] inside a position means any value there, as geth treats it
            topics.append(alternatives if alternatives and None not in position else None)
        else:
            raise ValueError("each topic must be null, a 32-byte hash or a list of them")
    # trailing wildcards stay: as in geth, n positions only match logs with >= n topics
    return tuple(topics)


_FILTER_KEYS: Final = frozenset({"fromBlock", "toBlock", "address", "topics", "blockHash"})


def log_filter(value: Any) -> FilterSpec:
    """A filter object: ``fromBlock``/``toBlock`` or ``blockHash``, ``address``, ``topics``."""
    if not isinstance(value, dict):
        raise ValueError("filter must be an object")
    unknown = set(value) - _FILTER_KEYS
    if unknown:
        raise ValueError(f"unknown filter field(s): {', '.join(sorted(unknown))}")
    block_hash = None
    if value.get("blockHash") is not None:
        if value.get("fromBlock") is not None or value.get("toBlock") is not None:
            raise ValueError("blockHash cannot be combined with fromBlock/toBlock")
        block_hash = hash32(value["blockHash"])
    latest = BlockRef(tag="latest")
    from_block = latest if value.get("fromBlock") is None else block_ref(value["fromBlock"])
    to_block = latest if value.get("toBlock") is None else block_ref(value["toBlock"])
    if from_block.block_hash is not None or to_block.block_hash is not None:
        raise ValueError("fromBlock/toBlock must be a number or a tag")
    return FilterSpec(
        from_block=from_block,
        to_block=to_block,
        addresses=_addresses(value.get("address")),
        topics=_topics(value.get("topics")),
        block_hash=block_hash,
    )


_CALL_KEYS: Final = frozenset(
    {
        "from",
        "to",
        "gas",
        "gasPrice",
        "maxFeePerGas",
        "maxPriorityFeePerGas",
        "value",
        "data",
        "input",
        "nonce",
        "type",
        "chainId",
        "accessList",
    }
)


def call_object(value: Any) -> CallSpec:
    """A transaction call object; ``input`` and ``data`` are synonyms and must agree."""
    if not isinstance(value, dict):
        raise ValueError("call must be an object")
    unknown = set(value) - _CALL_KEYS
    if unknown:
        raise ValueError(f"unknown call field(s): {', '.join(sorted(unknown))}")

    def opt(key: str, decoder: Decoder) -> Any:
        item = value.get(key)
        if item is None:
            return None
        try:
            return decoder(item)
        except ValueError as exc:
            raise ValueError(f"{key}: {exc}") from None

    payload = opt("input", data)
    legacy_payload = opt("data", data)
    if payload is not None and legacy_payload is not None and payload != legacy_payload:
        raise ValueError('both "data" and "input" are set and not equal')
    if payload is None:
        payload = legacy_payload
    opt("nonce", small_quantity)
    opt("type", small_quantity)
    opt("chainId", quantity)
    gas_price = opt("gasPrice", quantity)
    max_fee = opt("maxFeePerGas", quantity)
    opt("maxPriorityFeePerGas", quantity)
    if gas_price is not None and max_fee is not None:
        raise ValueError("both gasPrice and maxFeePerGas specified")
    return CallSpec(
        to=opt("to", address),
        sender=opt("from", address),
        data=payload or b"",
        value=opt("value", quantity) or 0,
        gas=opt("gas", small_quantity),
        gas_price=gas_price if gas_price is not None else max_fee,
    )


def percentiles(value: Any) -> tuple[float, ...]:
    """``eth_feeHistory`` reward percentiles: at most 100 numbers, 0..100, ascending."""
    if not isinstance(value, list):
        raise ValueError("expected a list of numbers")
    if len(value) > 100:
        raise ValueError("more than 100 percentiles")
    result: list[float] = []
    for item in value:
        if isinstance(item, bool) or not isinstance(item, int | float):
            raise ValueError("percentiles must be numbers")
        if not 0 <= item <= 100:
            raise ValueError(f"percentile {item} out of range 0..100")
        if result and item < result[-1]:
            raise ValueError("percentiles must be ascending")
        result.append(float(item))
    return tuple(result)


def block_count(value: Any) -> int:
    """``eth_feeHistory`` block count: a quantity (or, as many clients send, a JSON int)."""
    if isinstance(value, int) and not isinstance(value, bool):
        if value < 0:
            raise ValueError("negative block count")
        return value
    return small_quantity(value)


def any_value(value: Any) -> Any:
    return value


def no_overrides(value: Any) -> None:
    """State overrides (``eth_call``'s third param) are not supported; an empty object is."""
    if value == {}:
        return None
    raise ValueError("state overrides are not supported")
