"""``python -m medledger.healthcheck jsonrpc|http URL [--ca FILE]``: exit 0 when it answers.

Container images have no curl; this is what docker-compose.yml's healthchecks and the
demo's readiness waits run. One request, a short timeout, no retries (the caller retries).
An ``https`` URL is checked against ``--ca`` (the consortium CA), never the system roots.
"""

from __future__ import annotations

import ssl
import sys
from pathlib import Path

import httpx

from common.tls import TLSConfigError, client_context

TIMEOUT_S = 3.0
USAGE = "usage: python -m medledger.healthcheck jsonrpc|http URL [--ca FILE]\n"


def check(
    kind: str, url: str, *, timeout_s: float = TIMEOUT_S, ca_file: Path | None = None
) -> str | None:
    """``None`` when healthy, else a one-line reason."""
    try:
        verify: ssl.SSLContext | bool = client_context(ca_file) if ca_file is not None else True
        if kind == "jsonrpc":
            body = {"jsonrpc": "2.0", "id": 1, "method": "eth_blockNumber", "params": []}
            response = httpx.post(url, json=body, timeout=timeout_s, verify=verify)
            if response.status_code != 200:
                return f"HTTP {response.status_code}"
            answer = response.json()
            if not isinstance(answer, dict) or "result" not in answer:
                return "no JSON-RPC result"
            return None
        if kind == "http":
            response = httpx.get(url, timeout=timeout_s, verify=verify)
            return None if response.status_code == 200 else f"HTTP {response.status_code}"
    except (httpx.HTTPError, ValueError, TLSConfigError) as exc:
        return type(exc).__name__
    return f"unknown check {kind!r} (jsonrpc or http)"


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    ca_file: Path | None = None
    if len(args) == 4 and args[2] == "--ca":
        ca_file = Path(args[3])
        args = args[:2]
    if len(args) != 2:
        sys.stderr.write(USAGE)
        return 2
    problem = check(args[0], args[1], ca_file=ca_file)
    if problem is not None:
        sys.stderr.write(f"unhealthy: {problem}\n")
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
