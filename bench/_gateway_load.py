"""The second OS process of ``bench/gateway.py``: concurrent readers against one gateway.

``python -m bench._gateway_load URL TOKEN SECONDS MAX_REQUESTS STOP_FILE RATE PATH...`` runs
two reader threads, each fetching the given paths round-robin (whole bodies) with its own
keep-alive connection, until ``SECONDS`` have passed, ``MAX_REQUESTS`` were made in all or
``STOP_FILE`` exists (bounded both ways, it stops by itself). ``RATE`` 0: each reader sends
its next request as soon as the last one is answered (the most a gateway will take from
two clients; a faster gateway gets more load). ``RATE`` > 0: requests are due at that many
per second in all, each reader waiting for its next due time (a reader that falls behind
sends at once; still two in flight at most), so two gateways can be compared under the
same offered load. Prints one JSON line: requests, bytes, errors, seconds, requests/s.
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
    stop, rate, paths = Path(argv[4]), float(argv[5]), argv[6:]
    period = THREADS / rate if rate > 0 else 0.0  # per reader
    headers = {"Authorization": f"Bearer {token}", "Accept": "*/*"}
    lock = threading.Lock()
    totals = {"requests": 0, "bytes": 0, "errors": 0}
    deadline = time.monotonic() + seconds

    def reader(offset: int) -> None:
        with httpx.Client(base_url=url, headers=headers, timeout=30) as client:
            i = offset
            due = time.monotonic() + offset * period / THREADS
            while time.monotonic() < deadline and not stop.exists():
                if period:
                    time.sleep(max(0.0, due - time.monotonic()))
                    due += period
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
