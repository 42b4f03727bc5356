"""The bounded reader and LEB128 varuints shared by the binary formats."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from node.exceptions import InvalidField, LengthLimitExceeded, TrailingBytes, TruncatedProof
from node.wire import WireReader, encode_varuint


@given(st.integers(0, 2**21 - 1))
def test_varuint_round_trips_and_is_minimal(n: int) -> None:
    raw = encode_varuint(n)
    reader = WireReader(raw)
    assert reader.varuint(2**21 - 1) == n
    reader.assert_eof()
    assert len(raw) == max(1, (n.bit_length() + 6) // 7)


def test_reader_errors_are_one_class_each() -> None:
    with pytest.raises(InvalidField, match="non-minimal"):
        WireReader(b"\x81\x00").varuint(1000)
    with pytest.raises(LengthLimitExceeded):
        WireReader(encode_varuint(1001)).varuint(1000)
    with pytest.raises(LengthLimitExceeded):
        WireReader(b"\xff\xff\xff\x01").varuint(2**30)
    with pytest.raises(TruncatedProof):
        WireReader(b"\x80").varuint(1000)
    with pytest.raises(TruncatedProof):
        WireReader(b"ab").read(3)
    reader = WireReader(b"abc")
    reader.read(2)
    with pytest.raises(TrailingBytes, match="1 bytes"):
        reader.assert_eof()
    with pytest.raises(ValueError):
        encode_varuint(-1)
