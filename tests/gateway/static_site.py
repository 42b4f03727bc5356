"""A tiny static web server on a loopback port: the origin a browser-side viewer comes from.

It serves one directory of page files plus the browser builds of chosen npm packages,
read from the project's ``node_modules`` (no CDN, no network). Only the listed files are
served, by exact path.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler
from pathlib import Path

from tests.gateway.server import serve_handler

TYPES = {".html": "text/html; charset=utf-8", ".js": "text/javascript; charset=utf-8"}


@contextmanager
def static_site(files: Mapping[str, Path]) -> Iterator[str]:
    """Serve ``files`` (URL path → file) on 127.0.0.1 (a free port); yield the origin."""
    missing = [str(p) for p in files.values() if not p.is_file()]
    if missing:
        raise FileNotFoundError(f"not found (run `make node_modules/.installed`?): {missing}")

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            path = files.get(self.path.split("?")[0])
            if path is None:
                self.send_error(404)
                return
            body = path.read_bytes()
            self.send_response(200)
            self.send_header("Content-Type", TYPES.get(path.suffix, "application/octet-stream"))
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            pass  # quiet: the test asserts on what the page saw

    with serve_handler(Handler) as url:
        yield url
