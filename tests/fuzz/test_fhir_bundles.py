"""Fuzzing ``POST /fhir`` with mutations of the R4-example Bundles: never a 5xx, never partial.

Each example is the transaction or batch fixture of ``tests/standards/fhir/`` with a few
values replaced (anywhere in the tree: request methods and URLs, fullUrls, references,
codes, ids) by hostile ones. The app is the real node app in process (records are sealed and
queued, no chain). A transaction answered with an error must store nothing; any answer is an
OperationOutcome or a response Bundle.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from hypothesis import given
from hypothesis import strategies as st

from tests.fuzz.conftest import fuzz_settings
from tests.node.case_app import AUTH, case_app

FIXTURES = Path(__file__).parents[1] / "standards" / "fhir"
BUNDLES = [json.loads(p.read_text()) for p in sorted(FIXTURES.glob("*.json"))]

_TMP = tempfile.TemporaryDirectory(prefix="fhir-fuzz-")
_APP = case_app(Path(_TMP.name)).__enter__()  # lives for the session, like the OpenAPI fuzz
CLIENT = TestClient(_APP, raise_server_exceptions=False)
HEADERS = {**AUTH, "Content-Type": "application/fhir+json"}

HOSTILE = st.one_of(
    st.none(), st.booleans(), st.integers(-(2**70), 2**70), st.floats(allow_nan=False),
    st.text(max_size=40),
    st.sampled_from(["urn:uuid:nowhere", "Patient/", "Patient/../x", "DELETE", "GET", "PUT",
                     "Patient/a/b", "Observation", "Bundle", "Patient?x=1", "", " ",
                     "identifier=", "identifier=a|b|c", "identifier=x&y"]),
    st.lists(st.text(max_size=5), max_size=3), st.dictionaries(st.text(max_size=5),
                                                               st.text(max_size=5), max_size=3),
)  # fmt: skip


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix] if prefix else []
    if isinstance(value, dict):
        for key, item in value.items():
            found.extend(_paths(item, (*prefix, key)))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            found.extend(_paths(item, (*prefix, i)))
    return found


def _set(doc: Any, path: tuple[Any, ...], value: Any) -> None:
    for key in path[:-1]:
        doc = doc[key]
    doc[path[-1]] = value


def _records() -> int:
    return len(_APP.state.node.outbox().record_ids())


@fuzz_settings(short=40)
@given(st.sampled_from(range(len(BUNDLES))), st.data())
def test_mutated_example_bundles_never_5xx_and_never_half_store(
    which: int, data: st.DataObject
) -> None:
    doc = json.loads(json.dumps(BUNDLES[which]))
    for _ in range(data.draw(st.integers(1, 3))):
        paths = _paths(doc)
        if not paths:
            break
        _set(doc, data.draw(st.sampled_from(paths)), data.draw(HOSTILE))
    before = _records()
    resp = CLIENT.post("/fhir", content=json.dumps(doc).encode(), headers=HEADERS)
    assert resp.status_code < 500, resp.text
    body = resp.json()
    if resp.status_code == 200:
        assert body["resourceType"] == "Bundle" and body["type"].endswith("-response")
    else:
        assert body["resourceType"] == "OperationOutcome" and body["issue"][0]["diagnostics"]
        assert _records() == before  # a refused request stored nothing
