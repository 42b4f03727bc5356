"""Strict JSON reading and RFC 8785 canonical bytes for FHIR payloads.

Why strict: the content hash is over canonical bytes derived from the parsed value, so any
ambiguity in parsing (duplicate keys, where parsers disagree on which wins; ``NaN``, which is
not JSON) would let two readers see different records behind one hash.

Why RFC 8785 (JCS) via the ``rfc8785`` package (Trail of Bits, pure Python, typed) rather
than a hand-written sort-keys dump: JCS pins number formatting (ECMAScript shortest
round-trip), string escaping and key order (UTF-16 code units), so any JCS implementation in
any language reproduces our hash. Known limit: a FHIR ``decimal`` keeps its precision only as
a JSON number's text, and JCS canonicalizes numbers as IEEE doubles, so ``1.50`` becomes
``1.5`` and integers beyond 2**53 are refused. Precision-significant decimals must be sent
with an extension if a hospital needs them kept verbatim.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

import rfc8785

from node.exceptions import InvalidFhir, PayloadTooLarge

MAX_FHIR_BYTES = 16 * 1024 * 1024


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    obj = dict(pairs)  # built in C; a shorter dict means a key came twice
    if len(obj) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise InvalidFhir(f"duplicate JSON key {key!r}")
            seen.add(key)
    return obj


def _no_constant(name: str) -> Any:
    raise InvalidFhir(f"{name} is not a JSON number")


#: Digits of the longest integer read. RFC 8785 refuses integers beyond 2**53 - 1 (16
#: digits) anyway; this refuses longer ones before ``int()`` sees them, which would raise a
#: bare ``ValueError`` past 4300 digits (and take quadratic time on the way there).
MAX_INT_DIGITS = 20


def _bounded_int(text: str) -> int:
    if len(text.lstrip("-")) > MAX_INT_DIGITS:
        raise InvalidFhir(
            f"a JSON integer has more than {MAX_INT_DIGITS} digits (RFC 8785 canonical JSON "
            "holds integers up to 2**53 - 1)"
        )
    return int(text)


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise InvalidFhir("a JSON number is too large to be a finite double (e.g. 1e999)")
    return value


#: Deepest JSON nesting accepted. FHIR resources nest a few levels (Bundle, entry, resource,
#: contained, extensions); 128 leaves ample room.
MAX_JSON_DEPTH = 128

# A whole JSON string (skipped as one token, escapes included) or one bracket.
_TOKENS = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"|[\[\]{}]', re.DOTALL)


def _check_depth(text: str, limit: int = MAX_JSON_DEPTH) -> None:
    """Refuse nesting deeper than ``limit`` before the C parser sees it.

    The parser's own guard is the interpreter recursion limit, which py-evm's dependency
    ``py_ecc`` raises to 100,000 on import: in a node process a deeply nested document would
    overflow the C stack and kill the process instead of raising ``RecursionError``.
    """
    if text.count("[") + text.count("{") <= limit:
        return  # cannot nest deeper than it has brackets (those inside strings included)
    depth = 0
    for match in _TOKENS.finditer(text):
        char = match.group()
        if char in "[{":
            depth += 1
            if depth > limit:
                raise InvalidFhir(f"JSON nested too deeply (more than {limit} levels)")
        elif char in "]}":
            depth -= 1


def load_strict_json(raw: bytes, *, max_bytes: int = MAX_FHIR_BYTES) -> Any:
    """Parse UTF-8 JSON, refusing oversize input, duplicate keys, NaN/Infinity, bad UTF-8."""
    if len(raw) > max_bytes:
        raise PayloadTooLarge(f"FHIR payload is {len(raw)} bytes; the limit is {max_bytes}")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InvalidFhir("FHIR JSON must be UTF-8") from None
    _check_depth(text)
    try:
        return json.loads(text, object_pairs_hook=_no_duplicates, parse_constant=_no_constant,
                          parse_int=_bounded_int, parse_float=_finite_float)  # fmt: skip
    except json.JSONDecodeError as exc:
        raise InvalidFhir(f"not JSON: {exc.msg} at line {exc.lineno} column {exc.colno}") from None
    except RecursionError:
        raise InvalidFhir("JSON nested too deeply") from None
    except ValueError:  # a number the hooks above let through that int()/float() refuse
        raise InvalidFhir("not JSON: a number cannot be read") from None


def canonical_bytes(value: Any) -> bytes:
    """RFC 8785 canonical serialization of a parsed JSON value."""
    try:
        return rfc8785.dumps(value)
    except rfc8785.IntegerDomainError:
        raise InvalidFhir(
            "cannot canonicalize: a number is beyond the exactly representable range "
            "of RFC 8785 (integers up to 2**53 - 1)"
        ) from None
    except rfc8785.CanonicalizationError as exc:
        raise InvalidFhir(f"cannot canonicalize: {exc.__class__.__name__}") from None
    except RecursionError:
        raise InvalidFhir("JSON nested too deeply") from None
