"""Re-chunk an iterable of byte strings of any sizes into fixed-size pieces.

The last piece is flagged; it is the only one that may be shorter than ``size`` (it may
even be empty when the input is empty). A full piece is only emitted once at least one more
byte is known to follow it, so "last" is exact without reading ahead a whole chunk. Pieces
of large inputs are yielded as zero-copy ``memoryview`` slices, so memory stays at about
one chunk plus the caller's current input piece.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from keys.typing import BytesLike


def fixed_chunks(source: Iterable[BytesLike], size: int) -> Iterator[tuple[BytesLike, bool]]:
    """Yield ``(piece, is_last)``; every piece but the last has exactly ``size`` bytes."""
    buf = bytearray()
    for piece in source:
        view = memoryview(piece).cast("B")
        n = len(view)
        if n == 0:
            continue
        pos = 0
        if buf:
            if len(buf) < size:
                pos = min(size - len(buf), n)
                buf += view[:pos]
            if len(buf) == size and pos < n:
                yield bytes(buf), False
                buf.clear()
        if not buf:
            while n - pos > size:
                yield view[pos : pos + size], False
                pos += size
            buf += view[pos:]
    yield bytes(buf), True


def split_prefix(source: Iterable[BytesLike], length: int) -> tuple[bytes, Iterator[BytesLike]]:
    """Read exactly ``length`` leading bytes; return them and an iterator over the rest.

    Returns fewer than ``length`` bytes only when the source ends first.
    """
    it = iter(source)
    head = bytearray()
    for piece in it:
        view = memoryview(piece).cast("B")
        need = length - len(head)
        head += view[:need]
        if len(head) == length:
            return bytes(head), _chain(view[need:], it)
    return bytes(head), iter(())


def _chain(first: memoryview, rest: Iterator[BytesLike]) -> Iterator[BytesLike]:
    if len(first):
        yield first
    yield from rest
