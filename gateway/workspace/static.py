"""The workspace's static files: our page scripts and the vendored browser builds.

A fixed table, not a directory served as is: nothing outside it can be asked for, and each
file carries the media type and cache policy we choose. No CDN at run time: the vendored
files are the npm registry's built files, committed (versions in ``docs/workspace.md``).
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

from gateway.exceptions import NotFound

HERE = Path(__file__).resolve().parent / "static"
JS = "text/javascript; charset=utf-8"
#: URL name -> file under ``static/``.
FILES = {
    "ethers.js": "vendor/ethers-6.17.0.umd.min.js",
    "dicomweb-client.js": "vendor/dicomweb-client-0.11.3.js",
    "common.js": "common.js",
    "signin.js": "signin.js",
    "inbox.js": "inbox.js",
    "viewer.js": "viewer.js",
}


@cache
def static_file(name: str) -> bytes:
    """The bytes of the static file ``name``; ``NotFound`` for anything not in the table."""
    relative = FILES.get(name)
    if relative is None:
        raise NotFound("no such workspace file")
    return (HERE / relative).read_bytes()
