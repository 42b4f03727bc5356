from __future__ import annotations

import pytest

from tests.fuzz import conftest


def test_budget_is_short_unless_asked_long(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MEDLEDGER_FUZZ", raising=False)
    assert conftest.budget() == conftest.SHORT_EXAMPLES
    monkeypatch.setenv("MEDLEDGER_FUZZ", "long")
    assert conftest.budget() == conftest.LONG_EXAMPLES
    assert conftest.fuzz_settings().max_examples == conftest.LONG_EXAMPLES
