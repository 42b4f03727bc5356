"""Each upon-rule of Algorithm 1, one scenario at a time (paper line numbers in names)."""

from __future__ import annotations

import pytest

from ledger.consensus import (
    Checkpoint,
    ConsensusError,
    Decide,
    Equivocation,
    Proposal,
    Step,
    TendermintMachine,
    Timeout,
    TimeoutKind,
    Validator,
    ValidatorSet,
    VoteKind,
)
from tests.ledger.consensus.helpers import (
    FRESH,
    KEYS,
    TIMEOUTS,
    V,
    W,
    index_of_proposer,
    make,
    not_proposer,
    precommit,
    prevote,
    proposal,
    scheduled,
    sent,
    sent_votes,
)

PV, PC = VoteKind.PREVOTE, VoteKind.PRECOMMIT


def feed_prevotes(m: TendermintMachine, voters: list[int], round_: int, value: object) -> list:
    out: list = []
    for i in voters:
        out += m.on_vote(prevote(i, round_, value))  # type: ignore[arg-type]
    return out


def feed_precommits(m: TendermintMachine, voters: list[int], round_: int, value: object) -> list:
    out: list = []
    for i in voters:
        out += m.on_vote(precommit(i, round_, value))  # type: ignore[arg-type]
    return out


def three_others(me: int) -> list[int]:
    return [i for i in range(4) if i != me]


# StartRound (lines 11-21) ---------------------------------------------------------------


def test_proposer_proposes_a_fresh_value_and_prevotes_it() -> None:
    me = index_of_proposer(0)
    m = make(me)
    out = m.start()
    first = sent(out)[0]
    assert isinstance(first, Proposal)
    assert (first.round, first.value, first.valid_round) == (0, FRESH, -1)
    assert sent_votes(out) == [(PV, 0, FRESH)]
    assert m.step is Step.PREVOTE
    # Scheduled as CometBFT does (see README), a no-op here since it already prevoted.
    assert [t.timeout.kind for t in scheduled(out)] == [TimeoutKind.PROPOSE]
    assert m.on_timeout(Timeout(TimeoutKind.PROPOSE, 1, 0)) == []


def test_restarted_proposer_without_its_polka_prevotes_nil_on_timeout() -> None:
    me = index_of_proposer(1)
    restored = Checkpoint(1, 0, Step.PRECOMMIT, V, 0, V, 0)  # locked, but forgot the polka
    m = make(me, checkpoint=restored)
    m.start()
    out = m.on_timeout(Timeout(TimeoutKind.PRECOMMIT, 1, 0))
    first = sent(out)[0]
    assert isinstance(first, Proposal) and (first.value, first.valid_round) == (V, 0)
    assert not sent_votes(out)  # its own proposal needs the round-0 polka it no longer has
    assert sent_votes(m.on_timeout(Timeout(TimeoutKind.PROPOSE, 1, 1))) == [(PV, 1, None)]


def test_non_proposer_schedules_timeout_propose() -> None:
    m = make(not_proposer(0))
    out = m.start()
    assert not sent(out)
    assert [(t.timeout, t.duration_ms) for t in scheduled(out)] == [
        (Timeout(TimeoutKind.PROPOSE, 1, 0), TIMEOUTS.propose_ms)
    ]


def test_proposer_reproposes_its_valid_value_with_its_valid_round() -> None:
    me = index_of_proposer(2)
    checkpoint = Checkpoint(1, round=1, step=Step.PRECOMMIT, valid_value=V, valid_round=1)
    m = make(me, checkpoint=checkpoint)
    m.start()
    out = m.on_timeout(Timeout(TimeoutKind.PRECOMMIT, 1, 1))
    first = sent(out)[0]
    assert isinstance(first, Proposal)
    assert (first.round, first.value, first.valid_round) == (2, V, 1)


# Line 22 ---------------------------------------------------------------------------------


def test_line_22_valid_fresh_proposal_gets_a_prevote() -> None:
    m = make(not_proposer(0))
    m.start()
    assert sent_votes(m.on_proposal(proposal(0, V))) == [(PV, 0, V)]
    assert m.step is Step.PREVOTE


def test_line_22_invalid_proposal_gets_a_nil_prevote() -> None:
    m = make(not_proposer(0))
    m.start()
    assert sent_votes(m.on_proposal(proposal(0, W))) == [(PV, 0, None)]


def test_line_22_locked_validator_prevotes_nil_for_another_value() -> None:
    m = make(not_proposer(3), checkpoint=Checkpoint(1, 3, Step.PROPOSE, V, 1, V, 1))
    m.start()
    assert m.round == 3
    assert sent_votes(m.on_proposal(proposal(3, FRESH))) == [(PV, 3, None)]


def test_line_22_locked_validator_prevotes_its_locked_value() -> None:
    m = make(not_proposer(3), checkpoint=Checkpoint(1, 3, Step.PROPOSE, V, 1, V, 1))
    m.start()
    assert sent_votes(m.on_proposal(proposal(3, V))) == [(PV, 3, V)]


def test_proposal_from_a_non_proposer_is_ignored() -> None:
    me = not_proposer(0)
    m = make(me)
    m.start()
    liar = next(i for i in range(4) if i not in (me, index_of_proposer(0)))
    assert m.on_proposal(proposal(0, V, by=liar)) == []
    assert m.step is Step.PROPOSE


# Line 28 ---------------------------------------------------------------------------------


def test_line_28_proposal_with_valid_round_and_its_polka_gets_a_prevote() -> None:
    me = not_proposer(1)
    m = make(me, checkpoint=Checkpoint(1, round=1))
    m.start()
    assert m.round == 1
    assert m.on_proposal(proposal(1, V, valid_round=0)) == []  # no polka for round 0 yet
    out = feed_prevotes(m, three_others(me), 0, V)
    assert sent_votes(out) == [(PV, 1, V)]


def test_line_28_lock_newer_than_valid_round_means_nil_prevote() -> None:
    me = not_proposer(3)
    m = make(me, checkpoint=Checkpoint(1, 3, Step.PROPOSE, W, 2, W, 2))
    m.start()
    feed_prevotes(m, three_others(me), 1, V)
    assert sent_votes(m.on_proposal(proposal(3, V, valid_round=1))) == [(PV, 3, None)]


def test_line_28_lock_older_than_valid_round_is_overridden() -> None:
    me = not_proposer(3)
    m = make(me, checkpoint=Checkpoint(1, 3, Step.PROPOSE, FRESH, 0, FRESH, 0))
    m.start()
    feed_prevotes(m, three_others(me), 1, V)
    assert sent_votes(m.on_proposal(proposal(3, V, valid_round=1))) == [(PV, 3, V)]


# Lines 34, 36, 44 ------------------------------------------------------------------------


def started_and_prevoted(value: object = V) -> tuple[TendermintMachine, int]:
    me = not_proposer(0)
    m = make(me)
    m.start()
    m.on_proposal(proposal(0, V))
    assert m.step is Step.PREVOTE
    return m, me


def test_line_34_mixed_prevote_quorum_schedules_timeout_prevote_once() -> None:
    m, me = started_and_prevoted()
    a, b, _ = three_others(me)
    out = m.on_vote(prevote(a, 0, None)) + m.on_vote(prevote(b, 0, FRESH))
    assert [t.timeout.kind for t in scheduled(out)] == [TimeoutKind.PREVOTE]
    assert not sent(out)
    out = m.on_vote(prevote(_, 0, None))
    assert not scheduled(out)


def test_line_36_polka_in_prevote_step_locks_and_precommits() -> None:
    m, me = started_and_prevoted()
    out = feed_prevotes(m, three_others(me)[:2], 0, V)
    assert sent_votes(out) == [(PC, 0, V)]
    assert (m.locked_value, m.locked_round, m.valid_value, m.valid_round) == (V, 0, V, 0)
    assert m.step is Step.PRECOMMIT


def test_line_36_polka_after_precommitting_nil_only_updates_valid_value() -> None:
    m, me = started_and_prevoted()
    a, b, c = three_others(me)
    m.on_vote(prevote(a, 0, None))
    m.on_vote(prevote(b, 0, FRESH))
    assert sent_votes(m.on_timeout(Timeout(TimeoutKind.PREVOTE, 1, 0))) == [(PC, 0, None)]
    out = m.on_vote(prevote(c, 0, V))  # me, c and ... only 2 for V: no polka yet
    assert (m.valid_round, out) == (-1, [])
    out = m.on_vote(prevote(b, 0, V))  # b equivocates; the paper counts it for V as well
    assert any(isinstance(o, Equivocation) for o in out)
    assert not sent(out)
    assert (m.locked_value, m.locked_round, m.valid_value, m.valid_round) == (None, -1, V, 0)


def test_line_36_needs_the_proposal_itself() -> None:
    me = not_proposer(0)
    m = make(me)
    m.start()
    m.on_timeout(Timeout(TimeoutKind.PROPOSE, 1, 0))  # prevoted nil, never saw the proposal
    out = feed_prevotes(m, three_others(me), 0, V)
    assert not sent_votes(out)
    assert m.valid_value is None


def test_line_44_nil_prevote_quorum_precommits_nil() -> None:
    m, me = started_and_prevoted()
    out = feed_prevotes(m, three_others(me), 0, None)
    assert sent_votes(out) == [(PC, 0, None)]
    assert m.locked_round == -1


# Lines 47, 49, 55 ------------------------------------------------------------------------


def test_line_47_mixed_precommit_quorum_schedules_timeout_precommit() -> None:
    m, me = started_and_prevoted()
    a, b, c = three_others(me)
    out = m.on_vote(precommit(a, 0, None)) + m.on_vote(precommit(b, 0, FRESH))
    out += m.on_vote(precommit(c, 0, None))
    assert [t.timeout.kind for t in scheduled(out)] == [TimeoutKind.PRECOMMIT]
    assert not any(isinstance(o, Decide) for o in out)


def test_line_49_proposal_and_precommit_quorum_decides() -> None:
    m, me = started_and_prevoted()
    out = feed_precommits(m, three_others(me), 0, V)
    decisions = [o for o in out if isinstance(o, Decide)]
    assert len(decisions) == 1
    assert (decisions[0].value, decisions[0].round, m.step) == (V, 0, Step.DECIDED)
    assert len(decisions[0].precommits) == 3
    assert m.on_vote(precommit(me, 0, V)) == []  # decided: nothing more happens


def test_line_49_decides_for_a_round_other_than_the_current_one() -> None:
    m = make(not_proposer(0))
    m.start()
    m.on_proposal(proposal(4, V))
    out = feed_precommits(m, [0, 1, 2], 4, V)
    assert [o.value for o in out if isinstance(o, Decide)] == [V]


def test_line_49_does_not_decide_an_invalid_value() -> None:
    m = make(not_proposer(0))
    m.start()
    m.on_proposal(proposal(0, W))
    out = feed_precommits(m, [0, 1, 2, 3], 0, W)
    assert not any(isinstance(o, Decide) for o in out)


def test_line_55_f_plus_one_messages_of_a_higher_round_skip_to_it() -> None:
    me = not_proposer(5)
    m = make(me)
    m.start()
    a, b, _ = three_others(me)
    assert m.on_vote(prevote(a, 5, None)) == []  # f messages: stay
    assert m.round == 0
    out = m.on_vote(precommit(b, 5, None))
    assert m.round == 5
    assert [(t.timeout, t.duration_ms) for t in scheduled(out)] == [
        (Timeout(TimeoutKind.PROPOSE, 1, 5), TIMEOUTS.propose_ms + 5 * TIMEOUTS.propose_delta_ms)
    ]


# Timeouts (lines 57-67) ------------------------------------------------------------------


def test_timeouts_prevote_nil_precommit_nil_then_next_round() -> None:
    m = make(index_of_proposer(3))  # proposes in neither round 0 nor round 1
    m.start()
    assert sent_votes(m.on_timeout(Timeout(TimeoutKind.PROPOSE, 1, 0))) == [(PV, 0, None)]
    assert sent_votes(m.on_timeout(Timeout(TimeoutKind.PREVOTE, 1, 0))) == [(PC, 0, None)]
    m.on_timeout(Timeout(TimeoutKind.PRECOMMIT, 1, 0))
    assert (m.round, m.step) == (1, Step.PROPOSE)


def test_stale_timeouts_are_ignored() -> None:
    m = make(not_proposer(0))
    m.start()
    assert m.on_timeout(Timeout(TimeoutKind.PROPOSE, 1, 3)) == []
    assert m.on_timeout(Timeout(TimeoutKind.PREVOTE, 1, 0)) == []  # wrong step
    assert m.on_timeout(Timeout(TimeoutKind.PROPOSE, 2, 0)) == []  # wrong height
    assert (m.round, m.step) == (0, Step.PROPOSE)


def test_timeouts_grow_with_the_round() -> None:
    durations = [TIMEOUTS.duration(k, r) for k in TimeoutKind for r in (0, 1, 7)]
    for k in range(3):
        assert durations[3 * k] < durations[3 * k + 1] < durations[3 * k + 2]


# Equivocation, observers, restart, weights, validator changes ----------------------------


def test_double_vote_yields_evidence_and_duplicates_do_not() -> None:
    m = make(not_proposer(0))
    m.start()
    assert m.on_vote(prevote(1, 0, V)) == []
    assert m.on_vote(prevote(1, 0, V)) == []
    evidence = [o for o in m.on_vote(prevote(1, 0, None)) if isinstance(o, Equivocation)]
    assert len(evidence) == 1 and evidence[0].offender == KEYS[1].address


def test_double_proposal_yields_evidence() -> None:
    m = make(not_proposer(0))
    m.start()
    m.on_proposal(proposal(0, V))
    evidence = [o for o in m.on_proposal(proposal(0, FRESH)) if isinstance(o, Equivocation)]
    assert len(evidence) == 1 and evidence[0].offender == KEYS[index_of_proposer(0)].address


def test_observer_without_a_key_decides_but_never_signs() -> None:
    m = make(None)
    out = m.start() + m.on_proposal(proposal(0, V))
    out += feed_prevotes(m, [0, 1, 2], 0, V) + feed_precommits(m, [0, 1, 2], 0, V)
    assert not sent(out)
    assert [o.value for o in out if isinstance(o, Decide)] == [V]


def test_restart_resumes_in_its_round_and_step_and_resends_what_it_signed() -> None:
    me = not_proposer(0)
    m = make(me)
    m.start()
    m.on_proposal(proposal(0, V))
    feed_prevotes(m, three_others(me)[:2], 0, V)
    saved = m.checkpoint()
    assert (saved.round, saved.step, saved.locked_value, saved.locked_round) == (
        0,
        Step.PRECOMMIT,
        V,
        0,
    )
    restarted = make(me, checkpoint=saved)
    out = restarted.start()
    assert sent_votes(out) == [(PV, 0, V), (PC, 0, V)]  # the same signatures, re-sent
    assert [m.signature for m in sent(out)] == [m.signature for m in saved.signed]
    assert (restarted.round, restarted.step, restarted.locked_value) == (0, Step.PRECOMMIT, V)
    assert restarted.on_timeout(Timeout(TimeoutKind.PREVOTE, 1, 0)) == []  # no nil precommit
    assert sent(restarted.on_proposal(proposal(0, V))) == []  # gossip brings it back
    out = feed_precommits(restarted, three_others(me)[:2], 0, V)
    assert [o.value for o in out if isinstance(o, Decide)] == [V]


def test_machine_refuses_to_double_sign_even_from_an_inconsistent_checkpoint() -> None:
    me = not_proposer(0)
    bad = Checkpoint(1, 0, Step.PROPOSE, signed=(prevote(me, 0, V),))
    m = make(me, checkpoint=bad)
    m.start()
    with pytest.raises(ConsensusError, match="double-sign"):
        m.on_timeout(Timeout(TimeoutKind.PROPOSE, 1, 0))


def test_voting_power_not_head_count_decides() -> None:
    heavy = ValidatorSet(
        [Validator(KEYS[0].address, 10)] + [Validator(k.address, 1) for k in KEYS[1:]]
    )
    m = make(1, validators=heavy)
    m.start()
    proposer = next(i for i, k in enumerate(KEYS) if k.address == heavy.proposer(0))
    m.on_proposal(proposal(0, V, by=proposer))
    out = m.on_vote(precommit(0, 0, V))  # 10 of 13 > 2/3 alone
    assert [o.value for o in out if isinstance(o, Decide)] == [V]


def test_next_height_uses_the_set_decided_at_the_boundary() -> None:
    # Height 2's machine is built with the updated set: validator 3 left, its votes are noise.
    updated = (
        ValidatorSet.equal_power(k.address for k in KEYS).advance().update({KEYS[3].address: 0})
    )
    assert len(updated) == 3
    m = make(None, validators=updated)
    m.start()
    assert m.on_vote(prevote(3, 0, None)) == []
    assert m.log.power_any(0, VoteKind.PREVOTE) == 0


def test_a_single_validator_commits_alone_on_start() -> None:
    solo = ValidatorSet.equal_power([KEYS[0].address])
    m = make(0, validators=solo)
    out = m.start()
    assert [o.value for o in out if isinstance(o, Decide)] == [FRESH]
    assert [type(x).__name__ for x in sent(out)] == ["Proposal", "Vote", "Vote"]
