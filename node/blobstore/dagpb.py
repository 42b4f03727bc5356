"""The two protobufs of a UnixFS file DAG: dag-pb ``PBNode`` and UnixFS ``Data``.

Only what a balanced file DAG needs, byte-exact with Kubo (boxo) and ``ipfs-unixfs-importer``:
links first (field 2, canonical dag-pb order), each link with ``Hash``, an empty ``Name``
and ``Tsize``; then ``Data`` = UnixFS ``{Type: File, filesize, blocksizes…}`` (blocksizes
unpacked, as proto2 writes them). The decoder is strict: unknown fields, wrong wire types and
trailing bytes are errors, so a block we accept is a block we could have written.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from node.blobstore.cid import decode_varint, encode_varint

UNIXFS_RAW: Final = 0
UNIXFS_FILE: Final = 2
_VARINT: Final = 0
_LEN: Final = 2


@dataclass(frozen=True, slots=True)
class Link:
    """A child of a file node: binary CID, cumulative DAG size, content size."""

    cid: bytes
    tsize: int
    content_size: int


@dataclass(frozen=True, slots=True)
class FileNode:
    """A decoded UnixFS file node (a parent in the DAG, or a non-raw leaf)."""

    links: tuple[Link, ...]
    filesize: int
    data: bytes


def _field(number: int, wire: int) -> bytes:
    return encode_varint(number << 3 | wire)


_LINK_HASH: Final = _field(1, _LEN)
_LINK_NAME_EMPTY: Final = _field(2, _LEN) + b"\x00"
_LINK_TSIZE: Final = _field(3, _VARINT)
_NODE_LINK: Final = _field(2, _LEN)
_NODE_DATA: Final = _field(1, _LEN)
_FS_TYPE_FILE: Final = _field(1, _VARINT) + encode_varint(UNIXFS_FILE)
_FS_FILESIZE: Final = _field(3, _VARINT)
_FS_BLOCKSIZE: Final = _field(4, _VARINT)


def _len_prefixed(tag: bytes, payload: bytes) -> bytes:
    return tag + encode_varint(len(payload)) + payload


def encode_file_node(links: Sequence[Link]) -> bytes:
    """Encode a UnixFS file parent node linking ``links`` in order."""
    out = bytearray()
    for link in links:
        body = (
            _len_prefixed(_LINK_HASH, link.cid)
            + _LINK_NAME_EMPTY
            + _LINK_TSIZE
            + encode_varint(link.tsize)
        )
        out += _len_prefixed(_NODE_LINK, body)
    data = bytearray(_FS_TYPE_FILE)
    data += _FS_FILESIZE + encode_varint(sum(link.content_size for link in links))
    for link in links:
        data += _FS_BLOCKSIZE + encode_varint(link.content_size)
    out += _len_prefixed(_NODE_DATA, bytes(data))
    return bytes(out)


def _fields(buf: bytes) -> list[tuple[int, int, int | bytes]]:
    """Split a protobuf message into ``(field, wire type, value)``; only varint and bytes."""
    out: list[tuple[int, int, int | bytes]] = []
    pos = 0
    while pos < len(buf):
        key, pos = decode_varint(buf, pos)
        number, wire = key >> 3, key & 7
        if wire == _VARINT:
            value, pos = decode_varint(buf, pos)
            out.append((number, wire, value))
        elif wire == _LEN:
            length, pos = decode_varint(buf, pos)
            if pos + length > len(buf):
                raise ValueError("length-delimited field runs past the end")
            out.append((number, wire, buf[pos : pos + length]))
            pos += length
        else:
            raise ValueError(f"unsupported wire type {wire}")
    return out


def _decode_link(buf: bytes) -> tuple[bytes, int]:
    cid: bytes | None = None
    tsize = 0
    for number, wire, value in _fields(buf):
        if number == 1 and wire == _LEN and isinstance(value, bytes):
            cid = value
        elif number == 2 and wire == _LEN:
            continue  # Name: file DAG links carry an empty name
        elif number == 3 and wire == _VARINT and isinstance(value, int):
            tsize = value
        else:
            raise ValueError(f"unexpected field {number} in PBLink")
    if cid is None:
        raise ValueError("PBLink without Hash")
    return cid, tsize


def decode_file_node(block: bytes) -> FileNode:
    """Decode a dag-pb block holding a UnixFS file (or raw) node.

    Raises ``ValueError`` on anything that is not a well-formed UnixFS file node whose
    ``blocksizes`` match its links and add up to ``filesize``.
    """
    raw_links: list[tuple[bytes, int]] = []
    payload: bytes | None = None
    for number, wire, value in _fields(block):
        if number == 2 and wire == _LEN and isinstance(value, bytes):
            raw_links.append(_decode_link(value))
        elif number == 1 and wire == _LEN and isinstance(value, bytes):
            payload = value
        else:
            raise ValueError(f"unexpected field {number} in PBNode")
    if payload is None:
        raise ValueError("dag-pb node without UnixFS Data")
    fs_type: int | None = None
    filesize: int | None = None
    data = b""
    blocksizes: list[int] = []
    for number, wire, value in _fields(payload):
        if number == 1 and wire == _VARINT and isinstance(value, int):
            fs_type = value
        elif number == 2 and wire == _LEN and isinstance(value, bytes):
            data = value
        elif number == 3 and wire == _VARINT and isinstance(value, int):
            filesize = value
        elif number == 4 and wire == _VARINT and isinstance(value, int):
            blocksizes.append(value)
        else:
            raise ValueError(f"unsupported UnixFS field {number}")
    if fs_type not in (UNIXFS_FILE, UNIXFS_RAW):
        raise ValueError(f"UnixFS node of type {fs_type} is not a file")
    if len(blocksizes) != len(raw_links):
        raise ValueError("blocksizes do not match the links")
    total = len(data) + sum(blocksizes)
    if filesize is None:
        filesize = total
    if filesize != total:
        raise ValueError("filesize does not match the content sizes")
    links = tuple(Link(c, t, s) for (c, t), s in zip(raw_links, blocksizes, strict=True))
    return FileNode(links=links, filesize=filesize, data=data)
