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
    """Yield ``(piece, is_last)``; every piece but the last has exactly ``size`` bytes.

    A yielded piece is only valid until the next one is requested (it may be a view into
    the caller's buffer). Data held across input pieces is copied unless it came in an
    immutable ``bytes`` object, so callers may reuse a mutable read buffer.
    """
    held: memoryview | bytearray | None = None
    for piece in source:
        view = memoryview(piece).cast("B")
        try:
            n = len(view)
            if n == 0:
                continue
            pos = 0
            if held is not None:
                if len(held) < size:
                    if isinstance(held, memoryview):
                        held = bytearray(held)
                    pos = min(size - len(held), n)
                    held += view[:pos]
                if len(held) == size and pos < n:
                    yield held, False
                    held = None
            if held is None:
                while n - pos > size:
                    chunk = view[pos : pos + size]
                    try:
                        yield chunk, False
                    finally:
                        chunk.release()  # the caller may resize its buffer once we move on
                    pos += size
                rest = view[pos:]
                if isinstance(piece, bytes):
                    held = rest  # immutable: holding a view is safe and saves a copy
                else:
                    held = bytearray(rest)
                    rest.release()
        finally:
            if not isinstance(piece, bytes):
                view.release()
    yield (b"" if held is None else held), True


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
            rest: BytesLike = view[need:] if isinstance(piece, bytes) else bytes(view[need:])
            if not isinstance(piece, bytes):
                view.release()
            return bytes(head), _chain(rest, it)
        if not isinstance(piece, bytes):
            view.release()
    return bytes(head), iter(())


def _chain(first: BytesLike, rest: Iterator[BytesLike]) -> Iterator[BytesLike]:
    if len(first):
        yield first
    yield from rest
