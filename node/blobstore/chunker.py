"""Re-chunk any byte stream into fixed-size chunks, so CIDs ignore how the source was cut."""

from __future__ import annotations

from collections.abc import Iterable, Iterator


def fixed_size(source: Iterable[bytes], chunk_size: int) -> Iterator[bytes]:
    """Yield ``chunk_size`` chunks of ``source`` (the last may be shorter, never empty).

    Holds at most one chunk plus one source piece in memory. An empty source yields nothing.
    """
    if chunk_size <= 0:
        raise ValueError("chunk_size must be positive")
    pending = bytearray()
    for piece in source:
        if not pending and len(piece) == chunk_size:
            yield bytes(piece)  # the common case when the source is already aligned
            continue
        pending += piece
        if len(pending) >= chunk_size:
            view = memoryview(pending)
            start = 0
            while len(pending) - start >= chunk_size:
                yield bytes(view[start : start + chunk_size])
                start += chunk_size
            view.release()
            del pending[:start]
    if pending:
        yield bytes(pending)
