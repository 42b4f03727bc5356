"""Run the benchmarks and write one JSON file per benchmark under ``bench/results/``.

Each benchmark is a module ``bench/<name>.py`` with ``run() -> dict``: it measures, in the
same run, our code and the reference it is judged against, and returns plain JSON data.
``python -m bench`` runs all of them; ``python -m bench NAME ...`` runs some.
"""

from __future__ import annotations

import argparse
import importlib
import json
import pkgutil
import platform
import sys
import time
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).resolve().parent / "results"


def _available() -> list[str]:
    here = Path(__file__).resolve().parent
    return sorted(m.name for m in pkgutil.iter_modules([str(here)]) if not m.name.startswith("_"))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument(
        "names", nargs="*", help=f"benchmarks to run (default: all of {_available()})"
    )
    args = parser.parse_args(argv)
    names = args.names or _available()
    unknown = sorted(set(names) - set(_available()))
    if unknown:
        parser.error(f"unknown benchmark(s): {', '.join(unknown)}")
    RESULTS.mkdir(parents=True, exist_ok=True)
    for name in names:
        module = importlib.import_module(f"bench.{name}")
        print(f"== bench {name}", flush=True)
        started = time.time()
        result: dict[str, Any] = module.run()
        doc = {
            "benchmark": name,
            "started_unix": round(started, 3),
            "elapsed_s": round(time.time() - started, 3),
            "machine": {"python": sys.version.split()[0], "platform": platform.platform()},
            "result": result,
        }
        out = RESULTS / f"{name}.json"
        out.write_text(json.dumps(doc, indent=2, sort_keys=True) + "\n")
        print(json.dumps(result, indent=2, sort_keys=True), flush=True)
        print(f"-> {out}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
