"""Re-chunk any byte stream into fixed-size chunks, so CIDs ignore how the source was cut."""

from __future__ import annotations

from collections.abc import Iterable, Iterator


def fixed_size(source: Iterable[bytes], chunk_size: int) -> Iterator[bytes]:
    """Yield ``chunk_size`` chunks of ``source`` (the last may be shorter, never empty).

    Source pieces that are already whole, aligned chunks pass through uncopied, and so does
    a source that is one short piece (a small record: the common case, which must not pay
    for a chunk-sized buffer). Everything else is gathered in one buffer, allocated when
    first needed and reused for every chunk (fresh memory is costly to fault in, and a
    growing buffer would be reallocated again and again). Holds one chunk plus the caller's
    current piece. An empty source yields nothing.
    """
    if chunk_size <= 0:
        raise ValueError("chunk_size must be positive")
    buf: bytearray | None = None
    held: bytes | None = None  # a short first piece, not copied into ``buf`` yet
    fill = 0
    for piece in source:
        n = len(piece)
        if n == 0:
            continue
        if held is not None:  # more follows the short first piece: gather from here on
            buf = bytearray(chunk_size)
            buf[: len(held)] = held
            fill, held = len(held), None
        if fill == 0 and n == chunk_size:
            yield bytes(piece)  # no copy when ``piece`` is already ``bytes``
            continue
        if fill == 0 and buf is None and n < chunk_size:
            held = piece if isinstance(piece, bytes) else bytes(piece)  # the caller may reuse it
            continue
        if buf is None:
            buf = bytearray(chunk_size)
        view = memoryview(piece).cast("B")
        pos = 0
        while pos < n:
            if fill == 0 and n - pos >= chunk_size:
                yield bytes(view[pos : pos + chunk_size])
                pos += chunk_size
                continue
            take = min(chunk_size - fill, n - pos)
            buf[fill : fill + take] = view[pos : pos + take]
            fill += take
            pos += take
            if fill == chunk_size:
                yield bytes(buf)
                fill = 0
        view.release()
    if held is not None:
        yield bytes(held)
    elif fill and buf is not None:
        yield bytes(buf[:fill])
