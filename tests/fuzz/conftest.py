"""Bounded fuzzing: the same tests run short in ``make test`` and longer in ``make fuzz``.

Every test here is marked ``fuzz`` (``pytest -m fuzz`` selects them). Their size comes from
:func:`budget`, never from a wall-clock assertion: ``make test`` runs each with a few dozen
generated inputs (the short form CI runs), ``make fuzz`` sets ``MEDLEDGER_FUZZ=long`` and runs
each with many more. Every generator is bounded, so every run stops by itself.
"""

from __future__ import annotations

import os

import pytest
from hypothesis import HealthCheck, settings

#: Generated inputs per test: the short form (``make test``) and the long one (``make fuzz``).
SHORT_EXAMPLES = 60
LONG_EXAMPLES = 2_000


def long_run() -> bool:
    return os.environ.get("MEDLEDGER_FUZZ") == "long"


def budget(*, short: int = SHORT_EXAMPLES, long: int = LONG_EXAMPLES) -> int:
    """How many inputs a fuzz test generates in this run."""
    return long if long_run() else short


def fuzz_settings(*, short: int = SHORT_EXAMPLES, long: int = LONG_EXAMPLES) -> settings:
    """Hypothesis settings for a fuzz test: no deadline (2 shared cores), bounded examples."""
    return settings(
        max_examples=budget(short=short, long=long),
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
        derandomize=not long_run(),
    )


@pytest.hookimpl(tryfirst=True)  # before ``-m fuzz`` deselects unmarked items
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/fuzz/" in str(item.fspath).replace(os.sep, "/"):
            item.add_marker(pytest.mark.fuzz)
