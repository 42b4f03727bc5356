"""Streaming AEAD throughput against the raw AES-256-GCM limit of this machine.

All measurements run on 256 MiB produced chunk by chunk by one generator (1 MiB slices
of an 8 MiB random pool, so nothing of size 256 MiB ever exists in memory). Time spent
inside the input iterator is measured and subtracted, so each figure is the work of the
contender alone. Times are process CPU time (user + system), not wall time: the machine is
shared with other jobs, and CPU time does not count the waits for a core. Each figure is
the best of ``REPEATS`` passes after one warm-up pass (first large allocations pay page
faults).

- ``raw_aes256gcm_*``: ``AESGCM.encrypt``/``decrypt`` on 1 MiB chunks, nothing else — the
  single-core ceiling any chunked AES-GCM format can reach here.
- ``stream_encrypt``: ``encrypt_stream`` over the generator.
- ``stream_decrypt``: ``decrypt_stream`` fed directly by an ``encrypt_stream`` (the
  ciphertext is never stored); time spent producing ciphertext is subtracted.
- ``peak_traced_bytes_pipeline``: tracemalloc peak during one untimed encrypt→decrypt pass.

Each set is measured twice, in fresh subprocesses: with glibc malloc's defaults, and with
``MALLOC_MMAP_THRESHOLD_``/``MALLOC_TRIM_THRESHOLD_`` raised. With the defaults, every
fresh 1 MiB output buffer can come from a new ``mmap`` (or a heap just trimmed back to
the OS) and pays page faults, which costs more than AES-GCM itself on a CPU with
vector AES; the tuned figures show the cipher's real ceiling, the default ones what a
process gets without tuning.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import time
import tracemalloc
from collections.abc import Callable, Iterable, Iterator
from typing import Any, TypeVar

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from keys.stream import DEFAULT_CHUNK_SIZE, decrypt_stream, encrypt_stream

TOTAL = 256 << 20
CHUNK = DEFAULT_CHUNK_SIZE
REPEATS = 3
_POOL = os.urandom(8 << 20)
T = TypeVar("T")


class _Timed(Iterator[T]):
    """An iterator that records how long its source took to produce each item."""

    def __init__(self, source: Iterable[T]) -> None:
        self._it = iter(source)
        self.spent = 0.0

    def __next__(self) -> T:
        start = time.process_time()
        try:
            return next(self._it)
        finally:
            self.spent += time.process_time() - start


def _source(total: int = TOTAL, chunk: int = CHUNK) -> Iterator[bytes]:
    span = len(_POOL) - chunk
    for i in range(total // chunk):
        offset = (i * 4099) % span
        yield _POOL[offset : offset + chunk]


def _raw_encrypt() -> tuple[float, float]:
    aead = AESGCM(os.urandom(32))
    src = _Timed(_source())
    start = time.process_time()
    for i, piece in enumerate(src):
        aead.encrypt(i.to_bytes(12, "big"), piece, b"")
    return time.process_time() - start, src.spent


def _raw_decrypt() -> tuple[float, float]:
    aead = AESGCM(os.urandom(32))
    # A ring as large as the source pool, so neither side is favoured by the CPU cache.
    ring = len(_POOL) // CHUNK
    sealed = [
        aead.encrypt(i.to_bytes(12, "big"), _POOL[i * CHUNK : (i + 1) * CHUNK], b"")
        for i in range(ring)
    ]
    src = _Timed(_source())
    start = time.process_time()
    for i, _ in enumerate(src):
        aead.decrypt((i % ring).to_bytes(12, "big"), sealed[i % ring], b"")
    return time.process_time() - start, src.spent


def _stream_encrypt() -> tuple[float, float]:
    src = _Timed(_source())
    start = time.process_time()
    for _ in encrypt_stream(os.urandom(32), src, aad=b"bench"):
        pass
    return time.process_time() - start, src.spent


def _stream_decrypt() -> tuple[float, float]:
    key = os.urandom(32)
    ct = _Timed(encrypt_stream(key, _source(), aad=b"bench"))
    n = 0
    start = time.process_time()
    for piece in decrypt_stream(key, ct, aad=b"bench"):
        n += len(piece)
    elapsed = time.process_time() - start
    if n != TOTAL:
        raise RuntimeError("stream did not round-trip")
    return elapsed, ct.spent


def _best(fn: Callable[[], tuple[float, float]]) -> float:
    fn()  # warm-up
    return min(total - in_source for total, in_source in (fn() for _ in range(REPEATS)))


def _mb_s(seconds: float) -> float:
    return round(TOTAL / seconds / 1e6, 1)


def measure() -> dict[str, Any]:
    """Measure in this process: throughputs (MB/s, 10^6 bytes per second), peak memory."""
    raw_enc = _best(_raw_encrypt)
    raw_dec = _best(_raw_decrypt)
    enc = _best(_stream_encrypt)
    dec = _best(_stream_decrypt)

    key = os.urandom(32)
    tracemalloc.start()
    try:
        ct_bytes = 0
        for piece in decrypt_stream(key, encrypt_stream(key, _source())):
            ct_bytes += len(piece)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    return {
        "bytes": TOTAL,
        "chunk_size": CHUNK,
        "repeats_best_of": REPEATS,
        "clock": "process CPU time",
        "raw_aes256gcm_encrypt_mb_s": _mb_s(raw_enc),
        "raw_aes256gcm_decrypt_mb_s": _mb_s(raw_dec),
        "stream_encrypt_mb_s": _mb_s(enc),
        "stream_decrypt_mb_s": _mb_s(dec),
        "stream_encrypt_fraction_of_raw": round(raw_enc / enc, 3),
        "stream_decrypt_fraction_of_raw": round(raw_dec / dec, 3),
        "peak_traced_bytes_pipeline": peak,
        "max_rss_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
    }


_TUNED_MALLOC = {"MALLOC_MMAP_THRESHOLD_": str(32 << 20), "MALLOC_TRIM_THRESHOLD_": str(256 << 20)}


def _in_subprocess(extra_env: dict[str, str]) -> dict[str, Any]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MALLOC_")}
    env.update(extra_env)
    code = "import json, bench.crypto as b; print(json.dumps(b.measure()))"
    proc = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    )
    result: dict[str, Any] = json.loads(proc.stdout)
    return result


def run() -> dict[str, Any]:
    """Both allocator settings, each in a fresh interpreter."""
    return {
        "glibc_malloc_defaults": _in_subprocess({}),
        "glibc_malloc_tuned": {"env": _TUNED_MALLOC, **_in_subprocess(_TUNED_MALLOC)},
    }
