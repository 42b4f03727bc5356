"""The second OS process of ``bench/gateway.py``: concurrent readers against one gateway.

``python -m bench._gateway_load URL TOKEN SECONDS MAX_REQUESTS STOP_FILE PATH...`` runs two
reader threads, each fetching the given paths round-robin (whole bodies) with its own
keep-alive connection, until ``SECONDS`` have passed, ``MAX_REQUESTS`` were made in all or
``STOP_FILE`` exists (bounded both ways, it stops by itself). Prints one JSON line:
requests, bytes, errors, seconds, requests/s.
"""

from __future__ import annotations

import json
import sys
import threading
import time
from pathlib import Path

import httpx

THREADS = 2


def main(argv: list[str]) -> int:
    url, token, seconds, most = argv[0], argv[1], float(argv[2]), int(argv[3])
    stop, paths = Path(argv[4]), argv[5:]
    headers = {"Authorization": f"Bearer {token}", "Accept": "*/*"}
    lock = threading.Lock()
    totals = {"requests": 0, "bytes": 0, "errors": 0}
    deadline = time.monotonic() + seconds

    def reader(offset: int) -> None:
        with httpx.Client(base_url=url, headers=headers, timeout=30) as client:
            i = offset
            while time.monotonic() < deadline and not stop.exists():
                with lock:
                    if totals["requests"] >= most:
                        return
                    totals["requests"] += 1
                resp = client.get(paths[i % len(paths)])
                with lock:
                    totals["bytes"] += len(resp.content)
                    totals["errors"] += resp.status_code != 200
                i += 1

    started = time.monotonic()
    pool = [threading.Thread(target=reader, args=(t,)) for t in range(THREADS)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    elapsed = time.monotonic() - started
    print(
        json.dumps(
            {
                **totals,
                "seconds": round(elapsed, 3),
                "requests_per_s": round(totals["requests"] / elapsed, 1),
            }
        ),
        flush=True,
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
