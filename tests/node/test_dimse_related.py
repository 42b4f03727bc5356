"""The streaming ``multipart/related`` reader of STOW-RS: parts survive any chunking."""

from __future__ import annotations

import itertools
import tempfile
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from node.dimse.related import BadMultipart, RelatedReader, UnsupportedMedia, boundary_of

BOUNDARY = "a1b2c3d4e5f6"


def _body(parts: list[bytes]) -> bytes:
    out = b"".join(f"--{BOUNDARY}\r\nContent-Type: application/dicom\r\n\r\n".encode() + p
                   + b"\r\n" for p in parts)  # fmt: skip
    return out + f"--{BOUNDARY}--\r\n".encode()


def _read(body: bytes, cuts: list[int], directory: Path, limit: int = 1 << 20) -> list[bytes]:
    reader = RelatedReader(BOUNDARY, directory=directory, max_part_bytes=limit)
    edges = sorted({0, len(body), *(c % (len(body) + 1) for c in cuts)})
    for start, end in itertools.pairwise(edges):
        reader.feed(body[start:end])
    return [p.path.read_bytes() if not p.too_large else b"<too large>" for p in reader.finish()]


@settings(max_examples=60, deadline=None)
@given(parts=st.lists(st.binary(max_size=300), min_size=1, max_size=4),
       cuts=st.lists(st.integers(min_value=0), max_size=12))  # fmt: skip
def test_parts_come_back_whole_whatever_the_chunking(parts: list[bytes], cuts: list[int]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        assert _read(_body(parts), cuts, Path(tmp)) == parts


def test_a_part_over_the_limit_is_dropped_not_kept(tmp_path: Path) -> None:
    got = _read(_body([b"x" * 100, b"y" * 10]), [7, 50], tmp_path, limit=64)
    assert got == [b"<too large>", b"y" * 10]
    assert len(list(tmp_path.iterdir())) == 1  # the big part's file is gone


def test_a_body_without_its_closing_delimiter_is_refused(tmp_path: Path) -> None:
    body = _body([b"data"])[: -len(f"--{BOUNDARY}--\r\n")]
    reader = RelatedReader(BOUNDARY, directory=tmp_path, max_part_bytes=1024)
    reader.feed(body)
    with pytest.raises(BadMultipart, match="closing delimiter"):
        reader.finish()


@pytest.mark.parametrize(("ctype", "error"), [
    ("application/dicom", UnsupportedMedia),
    ('multipart/related; type="application/dicom+xml"; boundary=x', UnsupportedMedia),
    ('multipart/related; type="application/dicom"', BadMultipart),
])  # fmt: skip
def test_request_media_types_other_than_stow_dicom_are_refused(
    ctype: str, error: type[Exception]
) -> None:
    with pytest.raises(error):
        boundary_of(ctype)
    assert (
        boundary_of(f'multipart/related; type="application/dicom"; boundary="{BOUNDARY}"')
        == BOUNDARY
    )
