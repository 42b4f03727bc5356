"""The lock at work: four real machines, messages routed by hand to build the classic case.

Round 0: the proposal reaches validators A, B, C but not D; A, B, C see the polka and
precommit it (locking it); A receives all three precommits and decides. B and C miss A's
precommit, see D's nil precommit instead, and time out into round 1, whose proposer is D,
who never saw the polka and proposes a fresh block. Without the lock B and C would prevote
it, it would gather a polka and be decided: a fork. With the lock they prevote nil, and in
round 2 the locked value is re-proposed and decided everywhere.
"""

from __future__ import annotations

from collections.abc import Iterable

from eth_hash.auto import keccak

from ledger.consensus import (
    Broadcast,
    Decide,
    Output,
    Proposal,
    TendermintMachine,
    Timeout,
    TimeoutKind,
    ValidatorSet,
    Vote,
    VoteKind,
)
from ledger.typing import Hash32
from tests.ledger.consensus.sim import CHAIN_ID, signers

KEYS = signers(4)
SET = ValidatorSet.equal_power(k.address for k in KEYS)


def roles() -> dict[str, int]:
    """A proposes round 0 and D proposes round 1 (equal power: rotation in address order)."""
    order = [next(i for i, k in enumerate(KEYS) if k.address == SET.proposer(r)) for r in range(4)]
    a, d = order[0], order[1]
    b, c = (i for i in range(4) if i not in (a, d))
    return {"A": a, "B": b, "C": c, "D": d}


def machine(i: int) -> TendermintMachine:
    return TendermintMachine(
        chain_id=CHAIN_ID,
        height=1,
        validators=SET,
        signer=KEYS[i],
        get_value=lambda h, r, i=i: Hash32(keccak(b"block %d %d %d" % (h, r, i))),
        is_valid=lambda v: True,
    )


def broadcasts(outputs: Iterable[Output]) -> list[Proposal | Vote]:
    return [o.message for o in outputs if isinstance(o, Broadcast)]


def deliver(m: TendermintMachine, messages: Iterable[Proposal | Vote]) -> list[Output]:
    out: list[Output] = []
    for message in messages:
        if isinstance(message, Proposal):
            out += m.on_proposal(message)
        else:
            out += m.on_vote(message)
    return out


def test_locked_validators_refuse_a_fresh_value_after_a_partial_commit() -> None:
    r = roles()
    a, b, c, d = (r[k] for k in "ABCD")
    nodes = {i: machine(i) for i in range(4)}
    sent: dict[int, list[Proposal | Vote]] = {i: broadcasts(nodes[i].start()) for i in range(4)}
    proposal0 = sent[a][0]
    assert isinstance(proposal0, Proposal)
    v = proposal0.value
    prevote_a = sent[a][1]

    # Round 0: B and C get the proposal and prevote v; D does not and times out to nil.
    prevote_b = broadcasts(nodes[b].on_proposal(proposal0))[0]
    prevote_c = broadcasts(nodes[c].on_proposal(proposal0))[0]
    nodes[d].on_timeout(Timeout(TimeoutKind.PROPOSE, 1, 0))  # prevotes nil
    # A, B, C see the polka (3 of 4) and precommit v, locking it.
    precommit = {}
    for i, others in (
        (a, (prevote_b, prevote_c)),
        (b, (prevote_a, prevote_c)),
        (c, (prevote_a, prevote_b)),
    ):
        out = broadcasts(deliver(nodes[i], others))
        assert [(m.kind, m.value) for m in out if isinstance(m, Vote)] == [(VoteKind.PRECOMMIT, v)]
        precommit[i] = out[0]
        assert nodes[i].locked_value == v
    # D sees only nil-ish evidence and precommits nil after its prevote timeout.
    deliver(nodes[d], [prevote_a, prevote_b])
    precommit[d] = broadcasts(nodes[d].on_timeout(Timeout(TimeoutKind.PREVOTE, 1, 0)))[0]

    # A gets B's and C's precommits: decided.
    decided_a = [
        o for o in deliver(nodes[a], [precommit[b], precommit[c]]) if isinstance(o, Decide)
    ]
    assert [d.value for d in decided_a] == [v]

    # B and C miss A's precommit; with D's nil they have 2f+1 precommits and time out.
    for i, other in ((b, precommit[c]), (c, precommit[b])):
        out = deliver(nodes[i], [other, precommit[d]])
        assert not any(isinstance(o, Decide) for o in out)
        nodes[i].on_timeout(Timeout(TimeoutKind.PRECOMMIT, 1, 0))
        assert nodes[i].round == 1
    deliver(nodes[d], [precommit[b], precommit[c]])
    sent_d = broadcasts(nodes[d].on_timeout(Timeout(TimeoutKind.PRECOMMIT, 1, 0)))

    # Round 1: D proposes a fresh value w; the locked B and C must prevote nil.
    proposal1 = sent_d[0]
    assert isinstance(proposal1, Proposal) and proposal1.value != v and proposal1.valid_round == -1
    prevote_d1 = sent_d[1]
    for i in (b, c):
        out = broadcasts(nodes[i].on_proposal(proposal1))
        assert [(m.kind, m.round, m.value) for m in out if isinstance(m, Vote)] == [
            (VoteKind.PREVOTE, 1, None)
        ]
        deliver(nodes[i], [prevote_d1])
    # No polka for w can form: only D prevoted it.
    for i in (b, c, d):
        assert nodes[i].log.power_for(1, VoteKind.PREVOTE, proposal1.value) <= 1
        assert nodes[i].decision is None

    # From here B, C, D talk freely (A has moved on): the lock is released only by a
    # re-proposal of v justified by its round-0 polka, and everyone decides v.
    live = (b, c, d)
    queue: list[Proposal | Vote] = [
        prevote_d1,
        *(m for i in (b, c) for m in nodes[i].log.votes_for(1, VoteKind.PREVOTE, None)),
    ]
    queue += [prevote_a, prevote_b, prevote_c]
    for _ in range(50):
        if all(nodes[i].decision is not None for i in live):
            break
        if not queue:  # quiet network: let every live node's current-round timeouts fire
            for i in live:
                for kind in TimeoutKind:
                    queue += broadcasts(nodes[i].on_timeout(Timeout(kind, 1, nodes[i].round)))
            continue
        message = queue.pop(0)
        for i in live:
            queue += broadcasts(deliver(nodes[i], [message]))
    assert [nodes[i].decision.value for i in live if nodes[i].decision] == [v, v, v]
