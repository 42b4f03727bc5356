"""Opt-in cProfile of a long-running thread, for finding hot spots in a real process.

Set ``MEDLEDGER_PROFILE_DIR`` to a directory and the threads wrapped in :func:`profiled`
(the BFT node's event loop) write ``<name>-<pid>.prof`` there when they end (read it with
``python -m pstats``). Unset, nothing is profiled and nothing is written. cProfile sees
only the thread it runs in.
"""

from __future__ import annotations

import contextlib
import cProfile
import os
from collections.abc import Iterator
from pathlib import Path

PROFILE_ENV = "MEDLEDGER_PROFILE_DIR"


@contextlib.contextmanager
def profiled(name: str) -> Iterator[None]:
    """Profile the body when ``MEDLEDGER_PROFILE_DIR`` is set; dump the stats on exit."""
    directory = os.environ.get(PROFILE_ENV)
    if not directory:
        yield
        return
    profile = cProfile.Profile()
    profile.enable()
    try:
        yield
    finally:
        profile.disable()
        Path(directory).mkdir(parents=True, exist_ok=True)
        profile.dump_stats(str(Path(directory) / f"{name}-{os.getpid()}.prof"))
