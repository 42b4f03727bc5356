"""Run schemathesis over every operation of a live server's OpenAPI schema, over HTTP.

The schema is loaded from the running process (``schemathesis.openapi.from_url``), so the
fuzzer sees exactly what is served. Each operation gets its own bounded Hypothesis run
(:func:`tests.fuzz.conftest.fuzz_settings`) drawing from three strategies: schema-valid
inputs, schema-valid inputs whose path parameters name the real data the fixture made
(so generated query strings and bodies reach the code past the 404), and schema-invalid
ones (which must be refused with a 4xx). Failures are collected over all operations
rather than stopping at the first, so one run names every 5xx; the tally of requests and
statuses is what the report quotes.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import requests
import schemathesis
from hypothesis import given
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.fuzz.conftest import fuzz_settings

#: Every response: no 5xx, a declared status and content type, a body and headers that
#: match the schema; and an input the schema forbids is refused (4xx), never accepted.
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    negative_data_rejection,
]

#: Statuses a live server may answer though no operation declares them (a property of
#: the transport and the limits other parts own, not of one operation's contract).
UNDECLARED_OK = frozenset({405, 413, 429})


@dataclass
class Tally:
    """Requests made and statuses seen, and every check that failed (by operation)."""

    statuses: Counter[int] = field(default_factory=Counter)
    failures: list[str] = field(default_factory=list)

    @property
    def requests(self) -> int:
        return sum(self.statuses.values())

    def summary(self, name: str) -> str:
        seen = ", ".join(f"{code}: {n}" for code, n in sorted(self.statuses.items()))
        return f"{name}: {self.requests} requests ({seen}); {len(self.failures)} failures"


Headers = Callable[[schemathesis.Case], dict[str, str]]


def _strategy(operation: Any, seeds: Mapping[str, Sequence[str | int]]) -> Any:
    names = {p.name for p in operation.path_parameters}
    known = {n: seeds[n] for n in names if n in seeds}
    strategies = [
        operation.as_strategy(),
        operation.as_strategy(generation_mode=GenerationMode.NEGATIVE),
    ]
    if known:
        fixed = st.fixed_dictionaries({n: st.sampled_from(list(v)) for n, v in known.items()})
        strategies.append(fixed.flatmap(lambda p: operation.as_strategy(path_parameters=p)))
    return st.one_of(strategies)


def fuzz_schema(
    schema: Any,
    *,
    headers: Headers,
    seeds: Mapping[str, Sequence[str | int]],
    short: int,
    long: int,
    exclude: Callable[[schemathesis.Case], list[Any]] = lambda _case: [],
) -> Tally:
    """Fuzz every operation of ``schema``; return the tally (the caller asserts on it).

    ``headers`` gives each case its credentials; ``exclude`` names checks that do not
    apply to a case (with the reason at the call site).
    """
    tally = Tally()
    session = requests.Session()
    for result in schema.get_all_operations():
        operation = result.ok()

        @fuzz_settings(short=short, long=long)
        @given(case=_strategy(operation, seeds))
        def run(case: schemathesis.Case) -> None:
            sent = headers(case)
            response = case.call(session=session, headers=sent, timeout=60)
            tally.statuses[response.status_code] += 1
            checks = [c for c in CHECKS if c not in exclude(case)]
            if response.status_code in UNDECLARED_OK:
                checks = [c for c in checks if c is not status_code_conformance]
            case.validate_response(response, checks=checks, headers=sent)

        try:
            run()
        # Collected, so one run reports every operation's failures; schemathesis raises a
        # ``FailureGroup`` (an exception group) when a case fails several checks.
        except (Exception, BaseExceptionGroup) as exc:
            tally.failures.append(f"{operation.label}: {type(exc).__name__}: {exc}"[:4000])
    session.close()
    return tally
