"""Access logging without PHI: query strings and identifiers never reach the log.

A QIDO query can carry ``PatientID=…`` or ``PatientName=…``, and paths carry study UIDs
and case ids; uvicorn's access log would print them verbatim. This filter rewrites each
access record's path before it is formatted.
"""

from __future__ import annotations

import logging
import re

_IDENTIFIER = re.compile(r"^(?:[0-9]+(?:\.[0-9]+)+|0x[0-9a-fA-F]{16,})$")


def redact_path(path: str) -> str:
    """``/dicomweb/studies/1.2.3?PatientID=X`` → ``/dicomweb/studies/{id}?…``."""
    path, sep, _ = path.partition("?")
    redacted = "/".join("{id}" if _IDENTIFIER.match(s) else s for s in path.split("/"))
    return redacted + ("?…" if sep else "")


class RedactingAccessFilter(logging.Filter):
    """Rewrites uvicorn access records (args: client, method, path, version, status)."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and len(args) == 5 and isinstance(args[2], str):
            record.args = (args[0], args[1], redact_path(args[2]), args[3], args[4])
        return True


def install(logger_name: str = "uvicorn.access") -> None:
    """Attach the filter once to uvicorn's access logger."""
    logger = logging.getLogger(logger_name)
    if not any(isinstance(f, RedactingAccessFilter) for f in logger.filters):
        logger.addFilter(RedactingAccessFilter())
