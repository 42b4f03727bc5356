"""Request bodies read with a size limit: in memory (FHIR) or streamed to a temp file (DICOM).

The app's :class:`common.limits.BodyLimitMiddleware` already refuses a body over the route's
limit (declared or streamed) before the route runs; these readers check the same limit again
so a route keeps its bound if it is ever mounted without the middleware.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from fastapi import Request

from common.limits import BodyTooLarge


def _too_large(limit: int) -> BodyTooLarge:
    return BodyTooLarge(limit)


def _check_declared(request: Request, limit: int) -> None:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise _too_large(limit)


async def read_limited(request: Request, limit: int) -> bytes:
    _check_declared(request, limit)
    parts: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise _too_large(limit)
        parts.append(chunk)
    return b"".join(parts)


async def spool_limited(request: Request, limit: int, directory: Path) -> Path:
    """Stream the body into a new temp file (constant memory); the caller deletes it."""
    _check_declared(request, limit)
    handle = tempfile.NamedTemporaryFile(dir=directory, suffix=".zip", delete=False)
    path = Path(handle.name)
    size = 0
    try:
        with handle:
            async for chunk in request.stream():
                size += len(chunk)
                if size > limit:
                    raise _too_large(limit)
                handle.write(chunk)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return path
