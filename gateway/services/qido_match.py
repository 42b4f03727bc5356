"""QIDO-RS attribute matching (PS3.4 C.2.2.2): single value, UID list, wildcard, range.

Everything is matched on attribute *values as stored*; no fuzzy matching (the request's
``fuzzymatching`` is accepted and ignored, as the standard allows).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from pydicom.dataset import Dataset
from pydicom.multival import MultiValue
from pydicom.tag import BaseTag

from gateway.exceptions import BadQuery
from gateway.services.dicom_attrs import BINARY_VRS, vr_of

_RANGE_VRS = frozenset({"DA", "TM", "DT"})
_NO_WILDCARD_VRS = _RANGE_VRS | {"UI"} | BINARY_VRS
_NUMERIC_VRS = frozenset({"US", "SS", "UL", "SL", "FL", "FD", "IS", "DS", "UV", "SV"})


@dataclass(frozen=True, slots=True)
class Filter:
    """One matching key: an attribute and a predicate over one of its values (as text)."""

    tag: BaseTag
    accepts: Callable[[str], bool]

    def matches(self, dataset: Dataset) -> bool:
        """True if any value of the attribute in ``dataset`` is accepted."""
        if self.tag not in dataset:
            return False
        return any(self.accepts(value) for value in _values(dataset[self.tag].value))


def _values(value: object) -> Iterable[str]:
    if value is None:
        return ()
    if isinstance(value, MultiValue | list | tuple):
        return [str(v) for v in value]
    return (str(value),)


def _wildcard(pattern: str) -> Callable[[str], bool]:
    regex = re.compile(
        "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern),
        re.DOTALL,
    )
    return lambda value: regex.fullmatch(value) is not None


def _range(low: str, high: str) -> Callable[[str], bool]:
    # DA/TM/DT compare correctly as text once the same precision: YYYYMMDD, HHMMSS.ffffff.
    return lambda value: (
        (not low or value[: len(low)] >= low) and (not high or value[: len(high)] <= high)
    )


def _number(text: str) -> Callable[[str], bool]:
    try:
        wanted = float(text)
    except ValueError as exc:
        raise BadQuery(f"not a number: {text[:32]!r}") from exc

    def accepts(value: str) -> bool:
        try:
            return float(value) == wanted
        except ValueError:
            return False

    return accepts


def make_filter(tag: BaseTag, text: str) -> Filter:
    """The filter for ``tag=text`` as a QIDO query key; ``BadQuery`` if we cannot do it."""
    vr = vr_of(tag)
    if vr == "SQ" or vr in BINARY_VRS:
        raise BadQuery(f"matching on {vr} attributes is not supported")
    if vr == "UI":
        uids = {u.strip() for u in re.split(r"[,\\]", text) if u.strip()}
        return Filter(tag, uids.__contains__)
    if vr in _RANGE_VRS and "-" in text:
        low, _, high = text.partition("-")
        return Filter(tag, _range(low.strip(), high.strip()))
    if vr in _NUMERIC_VRS:
        return Filter(tag, _number(text))
    if vr not in _NO_WILDCARD_VRS and ("*" in text or "?" in text):
        return Filter(tag, _wildcard(text))
    return Filter(tag, text.__eq__)
