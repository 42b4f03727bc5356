"""Blob store throughput on 256 MiB generated chunk by chunk, against the machine's own limit.

Measured in one run, all in MB/s (10^6 bytes/s) of plaintext:

- ``raw_aesgcm``: cryptography's AESGCM (AES-256-GCM) over 1 MiB pieces;
- ``raw_sha256``: hashlib SHA-256 over the same pieces;
- ``raw_aesgcm_sha256``: both in sequence on each piece: the least work any
  encrypt-then-address pipeline must do, the reference for the target below;
- ``encrypt_stream``: ``keys.stream.encrypt_stream`` (our chunked AEAD);
- ``cid``: our CID computation (chunking, leaf hashing, balanced DAG);
- ``put`` / ``get``: the embedded store on disk (fsync per block) / verified streaming read;
- ``pipeline``: encrypt -> CID -> store, one pass, via ``EmbeddedBlobStore.put``.

Target: ``pipeline >= 0.5 x raw_aesgcm_sha256``. Peak RSS of the pipeline is measured in a
fresh child process for two payload sizes, to show memory flat in the payload size.
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
_BASE = os.urandom(PIECE - 8)


def source(size: int = SIZE) -> Iterator[bytes]:
    """Distinct 1 MiB pieces (a counter prefix defeats dedup) made on the fly, never stored."""
    for i in range(size // PIECE):
        yield i.to_bytes(8, "big") + _BASE


def _mbps(size: int, seconds: float) -> float:
    return round(size / seconds / 1e6, 1)


def _timed(work: Callable[[], object], size: int = SIZE) -> float:
    started = time.perf_counter()
    work()
    return _mbps(size, time.perf_counter() - started)


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


def run() -> dict[str, Any]:
    """Measure everything listed in the module docstring; return plain JSON data."""
    result: dict[str, Any] = {
        "payload_mib": SIZE // PIECE,
        "profile": DEFAULT_PROFILE.name,
        "cpus": os.cpu_count(),
    }
    rates: dict[str, float] = {
        "raw_aesgcm": _timed(_raw_aesgcm),
        "raw_sha256": _timed(_raw_sha256),
        "raw_aesgcm_sha256": _timed(_raw_both),
        "encrypt_stream": _timed(lambda: _drain(encrypt_stream(os.urandom(32), source()))),
        "cid": _timed(lambda: build(source(), profile=DEFAULT_PROFILE)),
    }
    with tempfile.TemporaryDirectory() as tmp:
        store = EmbeddedBlobStore(Path(tmp) / "plain")
        started = time.perf_counter()
        cid = store.put(source())
        rates["put"] = _mbps(SIZE, time.perf_counter() - started)
        rates["get"] = _timed(lambda: _drain(store.get(cid)))
        rates["pipeline"] = _timed(lambda: _pipeline(Path(tmp) / "pipeline"))
    result["mb_per_s"] = rates
    result["pipeline_vs_raw_aesgcm_sha256"] = round(
        rates["pipeline"] / rates["raw_aesgcm_sha256"], 3
    )
    result["target_ratio"] = 0.5
    result["peak_rss_mib"] = {"64MiB": _peak_rss_mib(64 * PIECE), "256MiB": _peak_rss_mib(SIZE)}
    return result


if __name__ == "__main__":
    print(json.dumps(run(), indent=2))
