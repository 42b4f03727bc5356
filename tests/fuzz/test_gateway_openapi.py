"""Schemathesis against the real gateway and node processes over HTTP: zero 5xx.

Unlike ``tests/gateway/test_openapi_fuzz.py`` (in-process, stand-in seams), the requests
here go over loopback to ``medledger gateway run`` and ``medledger node run`` processes on
a real chain (:mod:`tests.fuzz.real_hospital`), with a physician who redeemed a grant over
real records and a CT study and an auditor voted in by the members, so generated inputs
reach the records, DICOMweb and audit code over real data. Every response must be a
declared, schema-conforming non-5xx; every schema-invalid input must be refused.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import negative_data_rejection

from tests.fuzz.real_hospital import RealHospital, real_hospital
from tests.fuzz.schema_run import fuzz_schema

pytestmark = pytest.mark.timeout(1800)


@pytest.fixture(scope="module")
def hospital(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RealHospital]:
    with real_hospital(tmp_path_factory.mktemp("gwfuzz") / "consortium") as h:
        yield h


def _gateway_headers(hospital: RealHospital) -> Any:
    def headers(case: schemathesis.Case) -> dict[str, str]:
        auditor = case.path.startswith("/audit/")
        if case.method.upper() == "DELETE":  # a logout ends a session of its own, not ours
            return {"Authorization": f"Bearer {hospital.sign_in('/audit' if auditor else '')}"}
        session = hospital.auditor_session if auditor else hospital.physician_session
        return {"Authorization": f"Bearer {session}"}

    return headers


def _gateway_seeds(hospital: RealHospital) -> dict[str, list[str | int]]:
    return {
        "case": [hospital.case_id],
        "record": list(hospital.records),
        "grant": [hospital.grant_id],
        "study": [hospital.study],
        "series": [hospital.series],
        "instance": [hospital.instance],
        "frames": ["1"],
    }


def _gateway_exclusions(case: schemathesis.Case) -> list[Any]:
    # The sign-in forms take the address as a plain string (the page shows its own error
    # for a bad one, with 400); JSON Schema cannot express EIP-55 checksums either.
    # The workspace's pages take their session from a cookie, and the fuzzer's client keeps
    # the one POST /workspace/session set: a page "without" the cookie parameter still has it
    # (tests/gateway/test_workspace_pages.py checks that a browser without one is redirected).
    if case.path.startswith("/audit/signin") or (
        case.path.startswith("/workspace/") and case.method == "GET"
    ):
        return [negative_data_rejection]
    return []


def test_the_real_gateway_answers_every_generated_request_without_a_5xx(
    hospital: RealHospital,
) -> None:
    schema = schemathesis.openapi.from_url(f"{hospital.gateway_url}/openapi.json")
    tally = fuzz_schema(
        schema,
        headers=_gateway_headers(hospital),
        seeds=_gateway_seeds(hospital),
        short=15,
        long=400,
        exclude=_gateway_exclusions,
    )
    print(tally.summary("gateway"))
    assert tally.failures == [], "\n\n".join(tally.failures)
    assert any(200 <= s < 300 for s in tally.statuses), tally.summary("gateway")


#: Found by this test in a file of another part of issue 14; reported, not fixed here.
def test_the_real_node_api_answers_every_generated_request_without_a_5xx(
    hospital: RealHospital,
) -> None:
    """The village node: it holds every record, the case and the issued grant.

    Runs after the gateway's test (file order): generated ids can name the real referral
    and grant (small integers) and act on them, which is fine here and only here. Only
    ``not_a_server_error`` is checked: the node's 422 bodies and declared statuses are
    being reworked elsewhere (issue 14), and each chain-writing case costs a block.
    """
    auth = {"Authorization": f"Bearer {hospital.village_token}"}
    schema = schemathesis.openapi.from_url(f"{hospital.village_url}/openapi.json", headers=auth)
    tally = fuzz_schema(
        schema,
        headers=lambda _case: auth,
        seeds={
            "record_id": list(hospital.records),
            "case_id": [hospital.case_id],
            "grant_id": [hospital.grant_id],
        },
        short=4,
        long=300,
        checks=[not_a_server_error],
    )
    print(tally.summary("node"))
    assert tally.failures == [], "\n\n".join(tally.failures)
    assert any(200 <= s < 300 for s in tally.statuses), tally.summary("node")
