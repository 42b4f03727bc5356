"""CID text/binary, varints, dag-pb/UnixFS nodes and the chunker: exact and strict."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from hypothesis import given
from hypothesis import strategies as st

from node.blobstore import cid as cidlib
from node.blobstore.chunker import fixed_size
from node.blobstore.dagpb import Link, decode_file_node, encode_file_node
from node.exceptions import InvalidCID

digests = st.binary(min_size=32, max_size=32)
links = st.builds(
    Link,
    cid=st.builds(cidlib.cid_bytes, st.sampled_from([cidlib.RAW, cidlib.DAG_PB]), digests),
    tsize=st.integers(0, 2**40),
    content_size=st.integers(0, 2**40),
)


@given(st.integers(0, 2**64 - 1))
def test_varint_round_trips(value: int) -> None:
    encoded = cidlib.encode_varint(value)
    assert cidlib.decode_varint(encoded, 0) == (value, len(encoded))


def test_truncated_varint_is_refused() -> None:
    with pytest.raises(ValueError):
        cidlib.decode_varint(b"\x80\x80", 0)


@given(st.sampled_from([cidlib.RAW, cidlib.DAG_PB]), digests)
def test_cid_text_round_trips_and_is_case_insensitive(codec: int, digest: bytes) -> None:
    text = cidlib.cid_text(cidlib.cid_bytes(codec, digest))
    assert text.startswith("bafkrei" if codec == cidlib.RAW else "bafybei")
    assert cidlib.parse(text) == (codec, digest)
    assert cidlib.normalize("b" + text[1:].upper()) == text


@pytest.mark.parametrize(
    "bad",
    [
        "QmYwAPJzv5CZsnA625s3Xf2nemtYgPpHdWEz79ojWnPbdG",  # CIDv0, base58
        "zb2rhi36Gc9GJWijLEL6zW45MBux5FcFv5gJmjXA7VAMozEXY",  # CIDv1 in base58btc
        "bafkreifjjcie6lypi6ny7amxnfftagclbuxndqonfipmb64f2km2devei",  # truncated digest
        "bafkreifjjcie6lypi6ny7amxnfftagclbuxndqonfipmb64f2km2devei4aa",  # trailing bytes
        "bafyreifjjcie6lypi6ny7amxnfftagclbuxndqonfipmb64f2km2devei4",  # dag-cbor codec
        "b!!!",
        "b" + "a" * 200,
    ],
)
def test_cids_we_cannot_address_are_refused(bad: str) -> None:
    with pytest.raises(InvalidCID):
        cidlib.parse(bad)


@given(st.lists(links, min_size=1, max_size=20))
def test_file_node_round_trips(children: list[Link]) -> None:
    node = decode_file_node(encode_file_node(children))
    assert node.links == tuple(children)
    assert node.filesize == sum(c.content_size for c in children)
    assert node.data == b""


@given(st.lists(links, min_size=1, max_size=5), st.data())
def test_a_node_cut_short_or_with_trailing_garbage_is_refused(
    children: list[Link], data: st.DataObject
) -> None:
    block = encode_file_node(children)
    cut = data.draw(st.integers(1, len(block) - 1))
    with pytest.raises(ValueError):
        decode_file_node(block[:cut])
    with pytest.raises(ValueError):
        decode_file_node(block + b"\x07")  # wire type 7 does not exist


def test_known_node_layout_links_first_then_unixfs_data() -> None:
    leaf = cidlib.cid_bytes(cidlib.RAW, bytes(32))
    block = encode_file_node([Link(leaf, 5, 5), Link(leaf, 3, 3)])
    link = b"\x0a\x24" + leaf + b"\x12\x00" + b"\x18\x05"
    assert block.startswith(b"\x12\x2a" + link)
    # Data: Type=File(2), filesize=8, blocksizes 5 and 3 (unpacked)
    assert block.endswith(b"\x0a\x08" + b"\x08\x02\x18\x08\x20\x05\x20\x03")


@given(st.lists(st.binary(max_size=50), max_size=30), st.integers(1, 17))
def test_chunker_is_exact_whatever_the_source_pieces(pieces: list[bytes], size: int) -> None:
    out = list(fixed_size(pieces, size))
    assert b"".join(out) == b"".join(pieces)
    assert all(len(c) == size for c in out[:-1])
    assert all(0 < len(c) <= size and isinstance(c, bytes) for c in out)


def test_chunker_keeps_its_chunks_intact_when_the_caller_reuses_its_read_buffer() -> None:
    buf = bytearray(3)

    def reader() -> Iterator[bytes]:
        for i in range(5):
            buf[:] = bytes([i]) * 3
            yield buf  # type: ignore[misc]  # one mutable buffer, refilled: like readinto

    chunks = list(fixed_size(reader(), 4))
    assert chunks == [b"\0\0\0\1", b"\1\1\2\2", b"\2\3\3\3", b"\4\4\4"]
