"""Parameter validation: every malformed value is refused with the parameter named."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ledger.rpc import params as p
from ledger.rpc.errors import InvalidParams
from ledger.rpc.hexcodec import decode_data, decode_quantity, to_data32, to_quantity


@pytest.mark.parametrize(
    ("raw", "value"), [("0x0", 0), ("0x1", 1), ("0xff", 255), ("0XAbC", 0xABC)]
)
def test_valid_quantities_decode(raw: str, value: int) -> None:
    assert decode_quantity(raw) == value


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("0x", "empty hex number"),
        ("0x01", "leading zero"),
        ("12", "without 0x prefix"),
        ("0xg1", "invalid hex digit"),
        (12, "expected a 0x-prefixed hex string"),
        ("0x1" + "0" * 64, "too large"),
    ],
)
def test_malformed_quantities_are_refused_with_a_reason(raw: Any, reason: str) -> None:
    with pytest.raises(ValueError, match=reason):
        decode_quantity(raw)


def test_data_round_trips_and_sizes_are_enforced() -> None:
    assert decode_data("0x") == b""
    assert decode_data("0x00ff") == b"\x00\xff"
    with pytest.raises(ValueError, match="odd length"):
        decode_data("0x0")
    with pytest.raises(ValueError, match="expected 20 bytes, got 19"):
        p.address("0x" + "11" * 19)
    with pytest.raises(ValueError, match="expected 32 bytes"):
        p.hash32("0x" + "11" * 31)
    assert to_quantity(0) == "0x0"
    assert to_data32(1) == "0x" + "00" * 31 + "01"


def test_bind_names_the_bad_parameter_and_its_position() -> None:
    spec = (p.Param("address", p.address), p.Param("block", p.block_ref, default="dflt"))
    with pytest.raises(InvalidParams) as info:
        p.bind(spec, ["0x" + "11" * 20, "tomorrow"])
    assert info.value.data["param"] == "block"
    assert info.value.data["index"] == 1
    assert "invalid argument 1 (block)" in info.value.message


def test_bind_fills_defaults_and_refuses_missing_or_extra_args() -> None:
    spec = (p.Param("address", p.address), p.Param("block", p.block_ref, default="dflt"))
    assert p.bind(spec, ["0x" + "11" * 20]) == [b"\x11" * 20, "dflt"]
    assert p.bind(spec, ["0x" + "11" * 20, None]) == [b"\x11" * 20, "dflt"]
    with pytest.raises(InvalidParams, match=r"missing value for required argument 0 \(address\)"):
        p.bind(spec, [])
    with pytest.raises(InvalidParams, match="too many arguments"):
        p.bind(spec, ["0x" + "11" * 20, "latest", 3])
    with pytest.raises(InvalidParams, match="by-name params"):
        p.bind(spec, {"address": "0x"})


@pytest.mark.parametrize("tag", ["latest", "earliest", "pending", "safe", "finalized"])
def test_every_block_tag_is_accepted(tag: str) -> None:
    assert p.block_ref(tag).tag == tag


def test_block_refs_accept_numbers_and_eip1898_objects() -> None:
    assert p.block_ref("0x10").number == 16
    h = "0x" + "ab" * 32
    assert p.block_ref({"blockHash": h}).block_hash == bytes.fromhex("ab" * 32)
    assert p.block_ref({"blockNumber": "0x2"}).number == 2
    assert p.block_ref(h).block_hash == bytes.fromhex("ab" * 32)  # geth's BlockNumberOrHash
    for bad in ("newest", {"blockNumber": "0x1", "blockHash": h}, {}, 5, {"x": 1}):
        with pytest.raises(ValueError):
            p.block_ref(bad)


def test_filter_with_single_address_and_topic_or_lists() -> None:
    a, t1, t2 = "0x" + "01" * 20, "0x" + "aa" * 32, "0x" + "bb" * 32
    spec = p.log_filter(
        {"fromBlock": "0x1", "toBlock": "latest", "address": a, "topics": [None, [t1, t2], t1]}
    )
    assert spec.addresses == (bytes.fromhex("01" * 20),)
    assert spec.topics == (
        None,
        (bytes.fromhex("aa" * 32), bytes.fromhex("bb" * 32)),
        (bytes.fromhex("aa" * 32),),
    )
    assert spec.from_block.number == 1 and spec.to_block.tag == "latest"


def test_filter_trailing_wildcards_are_kept_and_defaults_are_latest() -> None:
    """As in geth, ``[t, null, null]`` only matches logs with at least three topics."""
    spec = p.log_filter({"topics": ["0x" + "aa" * 32, None, None], "address": []})
    assert spec.topics == ((bytes.fromhex("aa" * 32),), None, None)
    assert spec.addresses == ()
    assert spec.from_block.tag == "latest" and spec.to_block.tag == "latest"


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ([], "filter must be an object"),
        ({"blockHash": "0x" + "aa" * 32, "fromBlock": "0x1"}, "cannot be combined"),
        ({"topics": [None] * 5}, "more than 4 topic positions"),
        ({"topics": "0x"}, "topics must be a list"),
        ({"topics": [5]}, "each topic must be"),
        ({"address": 5}, "address must be"),
        ({"address": ["0x12"]}, "expected 20 bytes"),
        ({"frmBlock": "0x1"}, "unknown filter field"),
        ({"fromBlock": {"blockHash": "0x" + "aa" * 32}}, "must be a number or a tag"),
    ],
)
def test_malformed_filters_are_refused(raw: Any, reason: str) -> None:
    with pytest.raises(ValueError, match=reason):
        p.log_filter(raw)


def test_call_object_decodes_and_rejects_conflicts() -> None:
    to = "0x" + "02" * 20
    spec = p.call_object({"to": to, "input": "0x1234", "value": "0x5", "gas": "0x5208"})
    assert spec.to == bytes.fromhex("02" * 20) and spec.data == b"\x12\x34"
    assert spec.value == 5 and spec.gas == 21000 and spec.sender is None
    assert p.call_object({"to": to, "data": "0xab", "input": "0xab"}).data == b"\xab"
    with pytest.raises(ValueError, match="not equal"):
        p.call_object({"to": to, "data": "0xab", "input": "0xcd"})
    with pytest.raises(ValueError, match="both gasPrice and maxFeePerGas"):
        p.call_object({"to": to, "gasPrice": "0x1", "maxFeePerGas": "0x1"})
    with pytest.raises(ValueError, match="unknown call field"):
        p.call_object({"to": to, "blobs": []})
    with pytest.raises(ValueError, match="value: hex number with leading zero"):
        p.call_object({"to": to, "value": "0x05"})


def test_fee_history_percentiles_must_be_ascending_and_in_range() -> None:
    assert p.percentiles([10, 50.5, 90]) == (10.0, 50.5, 90.0)
    for bad in ([50, 10], [101], ["10"], [True], "x"):
        with pytest.raises(ValueError):
            p.percentiles(bad)
    assert p.block_count(4) == 4 and p.block_count("0x4") == 4


@given(st.integers(min_value=0, max_value=2**256 - 1))
def test_every_uint256_round_trips_as_a_quantity(value: int) -> None:
    assert decode_quantity(to_quantity(value)) == value


@given(st.binary(max_size=200))
def test_every_byte_string_round_trips_as_data(value: bytes) -> None:
    assert decode_data("0x" + value.hex()) == value


@given(st.text(max_size=70))
def test_arbitrary_text_never_crashes_the_block_decoder(value: str) -> None:
    try:
        ref = p.block_ref(value)
    except ValueError:
        return
    assert (ref.tag, ref.number, ref.block_hash) != (None, None, None)
