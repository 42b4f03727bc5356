"""The error-meaning table names only errors the ABIs declare (no typo survives a rename)."""

from __future__ import annotations

from contracts.errors import error_registry
from contracts.refusals import REVERTS, Refusal, meaning


def test_every_name_in_the_table_is_a_custom_error_of_the_suite() -> None:
    declared = {name for name, _types in error_registry().values()}
    assert set(REVERTS) <= declared


def test_an_error_without_its_own_meaning_is_a_plain_rule_and_no_error_is_none() -> None:
    assert meaning("NotUpwardReferral") is Refusal.RULE
    assert meaning("BatchAlreadyAnchored") is Refusal.ALREADY_ANCHORED
    assert meaning(None) is None


def test_every_meaning_but_the_plain_rule_has_a_name() -> None:
    assert set(REVERTS.values()) == set(Refusal) - {Refusal.RULE}
