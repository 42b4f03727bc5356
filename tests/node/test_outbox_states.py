"""The outbox against a model: any interleaving of appends, batches, transitions, reopens."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from contracts.typing import RecordKind
from keys.typing import RecordId
from node.anchor.entry import AnchorEntry, OutboxBatch, RecordState
from node.anchor.outbox import Outbox
from node.exceptions import IllegalTransition
from node.proof.record import AnchorInfo
from node.typing import CID, ContentHash, PatientPseudonym, TxHash

b32 = st.binary(min_size=32, max_size=32)


class OutboxModel(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.dir = Path(tempfile.mkdtemp(prefix="outbox-model-"))
        self.box = Outbox(self.dir / "o.sqlite")
        self.order: list[AnchorEntry] = []  # append order
        self.batch_of: dict[bytes, int] = {}
        self.batches: dict[int, tuple[OutboxBatch, str]] = {}

    def teardown(self) -> None:
        self.box.close()
        shutil.rmtree(self.dir, ignore_errors=True)

    @rule(rid=b32, pseudonym=b32, content=b32, salt=st.binary(min_size=16, max_size=16))
    def append(self, rid: bytes, pseudonym: bytes, content: bytes, salt: bytes) -> None:
        if any(e.record_id == rid for e in self.order):
            return
        e = AnchorEntry(RecordId(rid), RecordKind.RECORD, PatientPseudonym(pseudonym),
                        ContentHash(content), salt, CID("c"), b"w")  # fmt: skip
        same = [o for o in self.order if (o.pseudonym, o.content_hash) == (pseudonym, content)]
        expected = (same[0].record_id, False) if same else (e.record_id, True)
        assert self.box.append(e) == expected
        if not same:
            self.order.append(e)

    @precondition(lambda self: self.order)
    @rule(data=st.data())
    def append_same_content_again(self, data: st.DataObject) -> None:
        old = data.draw(st.sampled_from(self.order))
        again = AnchorEntry(RecordId(data.draw(b32)), old.kind, old.pseudonym, old.content_hash,
                            b"\x01" * 16, CID("d"), b"x")  # fmt: skip
        assert self.box.append(again) == (old.record_id, False)

    @rule(size=st.integers(1, 5))
    def form_batch(self, size: int) -> None:
        pending = [e for e in self.order if e.record_id not in self.batch_of]
        batch = self.box.form_batch(size)
        if not pending:
            assert batch is None
            return
        assert batch is not None and batch.size == min(size, len(pending))
        for e in pending[: batch.size]:
            self.batch_of[e.record_id] = batch.batch_id
            self.box.proof(e.record_id).verify(batch.root)
        self.batches[batch.batch_id] = (batch, "batched")

    @precondition(lambda self: self.batches)
    @rule(data=st.data(), tx=b32)
    def submit(self, data: st.DataObject, tx: bytes) -> None:
        batch_id = data.draw(st.sampled_from(sorted(self.batches)))
        batch, state = self.batches[batch_id]
        if state == "anchored":
            with pytest.raises(IllegalTransition):
                self.box.mark_submitted(batch.batch_id, TxHash(tx), at=1.0)
        else:
            self.box.mark_submitted(batch.batch_id, TxHash(tx), at=1.0)
            self.batches[batch_id] = (batch, "submitted")

    @precondition(lambda self: self.batches)
    @rule(data=st.data(), block=st.integers(0, 2**40))
    def anchor(self, data: st.DataObject, block: int) -> None:
        batch_id = data.draw(st.sampled_from(sorted(self.batches)))
        batch, state = self.batches[batch_id]
        anchor = AnchorInfo(TxHash(batch.root), block)
        if state == "anchored":
            with pytest.raises(IllegalTransition):
                self.box.mark_anchored(batch.batch_id, AnchorInfo(TxHash(b"\x00" * 32), block))
            return
        self.box.mark_anchored(batch.batch_id, anchor)
        self.box.mark_anchored(batch.batch_id, anchor)  # idempotent
        self.batches[batch_id] = (batch, "anchored")

    @rule()
    def reopen(self) -> None:
        self.box.close()
        self.box = Outbox(self.dir / "o.sqlite")

    @invariant()
    def states_match_the_model(self) -> None:
        for e in self.order:
            batch_id = self.batch_of.get(e.record_id)
            want = "pending" if batch_id is None else self.batches[batch_id][1]
            assert self.box.state(e.record_id) is RecordState(want)
        assert self.box.pending_count() == len(self.order) - len(self.batch_of)
        open_ids = sorted(b for b, (_, s) in self.batches.items() if s != "anchored")
        got = self.box.open_batch()
        assert (got.batch_id if got else None) == (open_ids[0] if open_ids else None)


OutboxModel.TestCase.settings = settings(max_examples=30, stateful_step_count=25,
                                         deadline=None)  # fmt: skip
test_outbox_follows_its_state_machine = OutboxModel.TestCase
