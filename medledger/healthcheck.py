"""``python -m medledger.healthcheck jsonrpc|http URL``: exit 0 when the service answers.

Container images have no curl; this is what docker-compose.yml's healthchecks and the
demo's readiness waits run. One request, a short timeout, no retries (the caller retries).
"""

from __future__ import annotations

import sys

import httpx

TIMEOUT_S = 3.0


def check(kind: str, url: str, *, timeout_s: float = TIMEOUT_S) -> str | None:
    """``None`` when healthy, else a one-line reason."""
    try:
        if kind == "jsonrpc":
            body = {"jsonrpc": "2.0", "id": 1, "method": "eth_blockNumber", "params": []}
            response = httpx.post(url, json=body, timeout=timeout_s)
            if response.status_code != 200:
                return f"HTTP {response.status_code}"
            answer = response.json()
            if not isinstance(answer, dict) or "result" not in answer:
                return "no JSON-RPC result"
            return None
        if kind == "http":
            response = httpx.get(url, timeout=timeout_s)
            return None if response.status_code == 200 else f"HTTP {response.status_code}"
    except (httpx.HTTPError, ValueError) as exc:
        return type(exc).__name__
    return f"unknown check {kind!r} (jsonrpc or http)"


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 2:
        sys.stderr.write("usage: python -m medledger.healthcheck jsonrpc|http URL\n")
        return 2
    problem = check(args[0], args[1])
    if problem is not None:
        sys.stderr.write(f"unhealthy: {problem}\n")
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
