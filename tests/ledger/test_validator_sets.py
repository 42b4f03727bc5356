"""The per-height validator history and the proposer priorities built on it (pure)."""

from __future__ import annotations

import pytest

from contracts.genesis import consortium_creation_code
from ledger.exceptions import ConfigError, LedgerError, StorageError
from ledger.genesis_contract import install_contract
from ledger.typing import Address
from ledger.validator_sets import ValidatorHistory, ValidatorSets

A, B, C, D = (Address(bytes([i]) * 20) for i in (1, 2, 3, 4))


def test_a_change_point_applies_from_its_height_and_survives_storage() -> None:
    history = ValidatorHistory([C, A, B])
    raw = history.encoded_with(7, (A, B, C, D))
    history.add(7, (A, B, C, D))
    assert history.at(0) == history.at(6) == (A, B, C)
    assert history.at(7) == history.at(10_000) == (A, B, C, D)
    again = ValidatorHistory.decode([A, B, C], raw)
    assert again.changes() == history.changes() == [(7, (A, B, C, D))]
    with pytest.raises(StorageError):
        ValidatorHistory.decode([A, B, C], b"\xff\x00garbage")


def test_changes_must_move_forward_and_never_empty_the_set() -> None:
    history = ValidatorHistory([A])
    history.add(3, (A, B))
    with pytest.raises(LedgerError):
        history.add(3, (A,))
    with pytest.raises(LedgerError):
        history.add(5, ())


def test_proposer_rotation_is_the_same_whichever_height_is_asked_first() -> None:
    history = ValidatorHistory([A, B, C])
    history.add(4, (A, B, C, D))
    walked = ValidatorSets(history.at)
    proposers = [walked.at(h).proposer(0) for h in range(1, 13)]
    fresh = ValidatorSets(history.at)
    assert fresh.at(12).proposer(0) == proposers[-1]
    assert walked.at(2).proposer(0) == proposers[1]  # asking an earlier height restarts
    assert set(proposers[:3]) == {A, B, C}
    assert D not in proposers[:3] and D in proposers[3:]  # the joiner proposes, later
    assert D in walked.at(4) and D not in walked.at(3)


def test_a_reverting_constructor_is_a_clear_config_error() -> None:
    with pytest.raises(ConfigError, match="constructor failed"):
        install_contract(chain_id=1337, creation_code=consortium_creation_code([]))
