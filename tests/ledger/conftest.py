from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from ledger.chain import Ledger
from tests.ledger.helpers import VALIDATOR_KEY, make_genesis


@pytest.fixture
def ledger(tmp_path: Path) -> Iterator[Ledger]:
    led = Ledger(tmp_path / "chain", make_genesis(), validator_key=VALIDATOR_KEY)
    yield led
    led.close()
