"""Blob store throughput on 256 MiB generated chunk by chunk, against the machine's own limit.

Measured in one run, all in MB/s (10^6 bytes/s) of plaintext:

- ``raw_aesgcm``: cryptography's AESGCM (AES-256-GCM) over 1 MiB pieces;
- ``raw_sha256``: hashlib SHA-256 over the same pieces;
- ``raw_aesgcm_sha256``: both in sequence on each piece: the least work any
  encrypt-then-address pipeline must do, the reference for the target below;
- ``raw_write_fsync``: the disk's limit: each 1 MiB piece written to a new file and fsynced,
  which any durable store must do at least;
- ``encrypt_stream``: ``keys.stream.encrypt_stream`` (our chunked AEAD);
- ``cid``: our CID computation (chunking, leaf hashing, balanced DAG);
- ``encrypt_cid``: encrypt -> CID without storing: the CPU part of the pipeline;
- ``put`` / ``get``: the embedded store on disk (fsync per block) / verified streaming read;
- ``pipeline``: encrypt -> CID -> store, one pass, via ``EmbeddedBlobStore.put``.

Each figure is the best of ``REPEATS`` runs (the machine is shared). Target:
``pipeline >= 0.5 x raw_aesgcm_sha256``; since the pipeline must also write every byte, its
ratio to ``min(raw_aesgcm_sha256, raw_write_fsync)`` is reported too. Peak RSS of the
pipeline is measured in a fresh child process for two payload sizes, to show memory flat in
the payload size.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from keys.stream import encrypt_stream
from node.blobstore.embedded import EmbeddedBlobStore
from node.blobstore.layout import build
from node.blobstore.profile import DEFAULT_PROFILE

SIZE = 256 * 1024 * 1024
PIECE = 1 << 20
REPEATS = 3
_BASE = os.urandom(PIECE - 8)


def source(size: int = SIZE) -> Iterator[bytes]:
    """Distinct 1 MiB pieces (a counter prefix defeats dedup) made on the fly, never stored."""
    for i in range(size // PIECE):
        yield i.to_bytes(8, "big") + _BASE


def _mbps(size: int, seconds: float) -> float:
    return round(size / seconds / 1e6, 1)


def _interleaved(works: dict[str, Callable[[], object]]) -> dict[str, float]:
    """Best of ``REPEATS`` rounds, each round running every measurement once in turn.

    The machine is shared: interleaving exposes every measurement to the same disturbances,
    and the best run of each is its least disturbed one.
    """
    best = dict.fromkeys(works, float("inf"))
    for _ in range(REPEATS):
        for name, work in works.items():
            started = time.perf_counter()
            work()
            best[name] = min(best[name], time.perf_counter() - started)
    return {name: _mbps(SIZE, seconds) for name, seconds in best.items()}


def _raw_aesgcm() -> None:
    aead = AESGCM(os.urandom(32))
    for i, piece in enumerate(source()):
        aead.encrypt(i.to_bytes(12, "big"), piece, None)


def _raw_sha256() -> None:
    for piece in source():
        hashlib.sha256(piece).digest()


def _raw_both() -> None:
    aead = AESGCM(os.urandom(32))
    for i, piece in enumerate(source()):
        hashlib.sha256(aead.encrypt(i.to_bytes(12, "big"), piece, None)).digest()


def _raw_write_fsync(directory: Path) -> None:
    directory.mkdir()
    for i, piece in enumerate(source()):
        fd = os.open(directory / str(i), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        try:
            os.write(fd, piece)
            os.fsync(fd)
        finally:
            os.close(fd)


def _drain(stream: Iterator[bytes]) -> None:
    for _ in stream:
        pass


def _pipeline(store_dir: Path, size: int = SIZE) -> str:
    store = EmbeddedBlobStore(store_dir)
    return store.put(encrypt_stream(os.urandom(32), source(size)))


def _peak_rss_mib(size: int) -> float:
    """Max RSS of a fresh interpreter running the pipeline on ``size`` bytes."""
    code = (
        "import resource, sys, tempfile, pathlib\n"
        "from bench.blob import _pipeline\n"
        "with tempfile.TemporaryDirectory() as d:\n"
        "    _pipeline(pathlib.Path(d), int(sys.argv[1]))\n"
        "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)\n"
    )
    root = Path(__file__).resolve().parents[1]
    done = subprocess.run(
        [sys.executable, "-c", code, str(size)],
        cwd=root,
        capture_output=True,
        text=True,
        check=True,
    )
    return round(int(done.stdout.strip()) / 1024, 1)


def _measure() -> dict[str, Any]:
    """Measure everything listed in the module docstring in this process."""
    result: dict[str, Any] = {
        "payload_mib": SIZE // PIECE,
        "profile": DEFAULT_PROFILE.name,
        "cpus": os.cpu_count(),
    }
    with tempfile.TemporaryDirectory() as tmp:
        fresh = iter(range(1_000_000))  # every put goes to an empty store: no dedup shortcut

        def scratch() -> Path:
            return Path(tmp) / f"s{next(fresh)}"

        store = EmbeddedBlobStore(scratch())
        cid = store.put(source())
        rates = _interleaved(
            {
                "raw_aesgcm": _raw_aesgcm,
                "raw_sha256": _raw_sha256,
                "raw_aesgcm_sha256": _raw_both,
                "raw_write_fsync": lambda: _raw_write_fsync(scratch()),
                "encrypt_stream": lambda: _drain(encrypt_stream(os.urandom(32), source())),
                "cid": lambda: build(source(), profile=DEFAULT_PROFILE),
                "encrypt_cid": lambda: build(
                    encrypt_stream(os.urandom(32), source()), profile=DEFAULT_PROFILE
                ),
                "put": lambda: EmbeddedBlobStore(scratch()).put(source()),
                "get": lambda: _drain(store.get(cid)),
                "pipeline": lambda: _pipeline(scratch()),
            }
        )
    result["mb_per_s"] = rates
    result["pipeline_vs_raw_aesgcm_sha256"] = round(
        rates["pipeline"] / rates["raw_aesgcm_sha256"], 3
    )
    result["target_ratio"] = 0.5
    result["encrypt_cid_vs_raw_aesgcm_sha256"] = round(
        rates["encrypt_cid"] / rates["raw_aesgcm_sha256"], 3
    )
    limit = min(rates["raw_aesgcm_sha256"], rates["raw_write_fsync"])
    result["pipeline_vs_machine_limit"] = round(rates["pipeline"] / limit, 3)
    result["peak_rss_mib"] = {"64MiB": _peak_rss_mib(64 * PIECE), "256MiB": _peak_rss_mib(SIZE)}
    return result


#: glibc keeps freed memory instead of returning it to the kernel after every 1 MiB buffer.
#: On this VM re-faulting returned pages costs more than the AES-GCM itself (raw AES-GCM runs
#: ~0.7 GB/s with the default allocator and ~4-5 GB/s with these), so both settings are
#: measured: they move the reference and our code alike.
KEEP_MEMORY = {"MALLOC_TRIM_THRESHOLD_": str(1 << 30), "MALLOC_MMAP_THRESHOLD_": str(1 << 30)}


def run() -> dict[str, Any]:
    """Measure in two fresh processes: default glibc malloc, and malloc keeping its memory."""
    root = Path(__file__).resolve().parents[1]
    out: dict[str, Any] = {}
    for mode, extra in (("default_malloc", {}), ("malloc_keeps_memory", KEEP_MEMORY)):
        done = subprocess.run(
            [sys.executable, "-m", "bench.blob"],
            cwd=root,
            env={**os.environ, **extra},
            capture_output=True,
            text=True,
            check=True,
        )
        out[mode] = json.loads(done.stdout)
    return out


if __name__ == "__main__":
    print(json.dumps(_measure()))
