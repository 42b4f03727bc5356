"""The owner's break-glass policy decision (pure) and its node setting."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from node.cases.breakglass import WHOLE_CASE, decide
from node.cases.package import scope_root
from node.config import NodeSettings
from node.exceptions import InvalidCaseInput

RECORDS = [bytes([i]) * 32 for i in (1, 2, 3)]
CONTRACTS = {k: "0x" + "11" * 20 for k in ("consortium", "anchors", "referrals", "grants")}


@pytest.mark.parametrize("policy", ["allow", "allow-and-notify"])
def test_an_allowing_policy_releases_the_whole_case_or_its_exact_scope(policy: str) -> None:
    assert decide(policy, case_records=RECORDS, scope=WHOLE_CASE) == ("pending", None)
    assert decide(policy, case_records=RECORDS, scope=scope_root(RECORDS)) == ("pending", None)


def test_deny_releases_nothing_even_for_a_case_we_hold() -> None:
    decision, refusal = decide("deny", case_records=RECORDS, scope=WHOLE_CASE)
    assert decision == "denied" and refusal is not None and "deny" in refusal


def test_an_unknown_case_or_a_partial_scope_is_refused() -> None:
    assert decide("allow", case_records=[], scope=WHOLE_CASE)[0] == "refused"
    partial = scope_root(RECORDS[:2])
    assert decide("allow", case_records=RECORDS, scope=partial)[0] == "refused"


def test_an_unknown_policy_is_an_error_not_a_release() -> None:
    with pytest.raises(InvalidCaseInput):
        decide("maybe", case_records=RECORDS, scope=WHOLE_CASE)


def test_node_settings_default_to_allow_and_notify_and_refuse_other_words() -> None:
    assert NodeSettings.model_validate({"contracts": CONTRACTS}).break_glass == "allow-and-notify"
    with pytest.raises(ValidationError):
        NodeSettings.model_validate({"contracts": CONTRACTS, "break_glass": "sometimes"})
