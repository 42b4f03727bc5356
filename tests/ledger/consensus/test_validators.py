"""Validator sets: quorum thresholds by power and weighted round-robin proposer rotation."""

from __future__ import annotations

from collections import Counter

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger.consensus import Validator, ValidatorSet
from ledger.consensus.exceptions import ConsensusError
from ledger.typing import Address


def addr(i: int) -> Address:
    return Address(bytes([i + 1]) * 20)


powers_lists = st.lists(st.integers(1, 12), min_size=1, max_size=7)


def make_set(powers: list[int]) -> ValidatorSet:
    return ValidatorSet(Validator(addr(i), p) for i, p in enumerate(powers))


@settings(max_examples=200)
@given(powers_lists, st.integers(1, 2))
def test_each_validator_proposes_in_proportion_to_its_power_over_rounds(
    powers: list[int], cycles: int
) -> None:
    vs = make_set(powers)
    counts = Counter(vs.proposer(r) for r in range(cycles * vs.total_power))
    assert {a: counts[a] for a in vs.addresses} == {
        addr(i): cycles * p for i, p in enumerate(powers)
    }


@settings(max_examples=100)
@given(powers_lists)
def test_each_validator_proposes_in_proportion_to_its_power_over_heights(
    powers: list[int],
) -> None:
    vs, counts = make_set(powers), Counter[Address]()
    for _ in range(2 * vs.total_power):
        counts[vs.proposer(0)] += 1
        vs = vs.advance()
    assert {a: counts[a] for a in vs.addresses} == {addr(i): 2 * p for i, p in enumerate(powers)}


def test_equal_power_rotates_in_address_order() -> None:
    vs = ValidatorSet.equal_power([addr(2), addr(0), addr(1)])
    assert [vs.proposer(r) for r in range(6)] == [addr(0), addr(1), addr(2)] * 2


def test_quorum_is_more_than_two_thirds_of_power() -> None:
    vs = make_set([1, 1, 1, 1])
    assert not vs.is_quorum(2) and vs.is_quorum(3)
    assert not vs.is_one_third(1) and vs.is_one_third(2)
    weighted = make_set([1, 1, 1, 6])  # total 9: 6 is exactly 2/3, not more
    assert not weighted.is_quorum(6) and weighted.is_quorum(7)
    assert not weighted.is_one_third(3) and weighted.is_one_third(4)


def test_a_new_validator_queues_behind_the_existing_ones() -> None:
    vs = make_set([1, 1, 1]).advance().update({addr(7): 1})
    assert len(vs) == 4 and vs.total_power == 4
    assert vs.priority_of(addr(7)) < min(vs.priority_of(addr(i)) for i in range(3))
    assert vs.proposer(0) != addr(7)
    assert addr(7) in {vs.proposer(r) for r in range(8)}


def test_removal_and_power_change_apply_at_the_boundary() -> None:
    vs = make_set([1, 2, 3]).update({addr(0): 0, addr(1): 5})
    assert addr(0) not in vs and vs.power_of(addr(1)) == 5 and vs.total_power == 8


def test_priorities_stay_centred_and_bounded() -> None:
    vs = make_set([1, 50, 3])
    for _ in range(500):
        vs = vs.advance()
        prios = [vs.priority_of(a) for a in vs.addresses]
        assert max(prios) - min(prios) <= 3 * vs.total_power
        assert abs(sum(prios)) < len(prios)


@pytest.mark.parametrize(
    "members",
    [[], [Validator(addr(0), 0)], [Validator(addr(0), 1), Validator(addr(0), 2)]],
    ids=["empty", "zero-power", "duplicate"],
)
def test_malformed_sets_are_refused(members: list[Validator]) -> None:
    with pytest.raises(ConsensusError):
        ValidatorSet(members)


def test_genesis_validators_form_the_first_set_with_equal_power() -> None:
    # Until the Consortium contract exists, the set comes from genesis, one vote each.
    from eth_utils import to_checksum_address

    from ledger.config import Genesis

    addresses = [to_checksum_address(addr(i)) for i in range(4)]
    genesis = Genesis(chain_id=1337, validators=addresses)
    vs = ValidatorSet.equal_power(genesis.validator_addresses())
    assert set(vs.addresses) == {addr(i) for i in range(4)}
    assert vs.total_power == 4 and vs.is_quorum(3) and not vs.is_quorum(2)
