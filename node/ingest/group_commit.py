"""Leader/follower group commit: concurrent callers share one durable commit.

Callers (API request threads, bulk importers) :meth:`GroupCommitter.submit` their items and
block until the items are committed. No thread is dedicated to committing: the first caller
that finds no commit in flight becomes the leader, takes every queued item (up to
``max_group``, oldest first) and commits them as one group; whoever arrives while that
commit is in flight queues up and joins the next group, which one of them leads as soon as
the current commit is done. Under load, groups grow by themselves to what arrived during one
commit; alone, a caller commits its item at once (no waiting for a timer).

A failed commit fails every item of its group (none of them is acknowledged); items queued
behind it are unaffected.

With ``max_in_flight > 1`` that many groups may be committing at once (each led by its own
caller): when a commit mostly waits on the disk (an fsync, a blob store barrier), a second
group overlaps its wait instead of queueing behind it. The commit function must then be
safe to run concurrently (the node's is: the outbox serializes writers and says which of two
equal records won).
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable, Sequence
from typing import Generic, TypeVar

T = TypeVar("T")
R = TypeVar("R")


class _Slot(Generic[T, R]):
    __slots__ = ("done", "error", "item", "result")

    def __init__(self, item: T) -> None:
        self.item = item
        self.done = False
        self.result: R | None = None
        self.error: BaseException | None = None


class GroupCommitter(Generic[T, R]):
    """Coalesce concurrent submissions into groups committed by ``commit``.

    Parameters
    ----------
    commit
        Commits a group, returning one result per item in order; runs in the leader's
        thread, one group at a time.
    max_group
        Most items in one group (bounds memory and the latency of the first item).
    max_in_flight
        Most groups committing at the same time.
    """

    def __init__(self, commit: Callable[[list[T]], list[R]], *, max_group: int = 2048,
                 max_in_flight: int = 1) -> None:  # fmt: skip
        if max_group < 1 or max_in_flight < 1:
            raise ValueError("a group holds at least one item; at least one group commits")
        self._commit = commit
        self._max = max_group
        self._max_in_flight = max_in_flight
        self._cond = threading.Condition()
        self._queue: deque[_Slot[T, R]] = deque()
        self._in_flight = 0
        self.groups = 0  # committed groups, for tests and stats

    def submit(self, item: T) -> R:
        """Commit ``item`` (with whatever else is queued) and return its result."""
        return self.submit_many([item])[0]

    def submit_many(self, items: Sequence[T]) -> list[R]:
        """Queue every item, help commit until all of them are done; results in order.

        Raises the commit's exception if a group holding one of the items failed (the other
        items may then be committed or not: check them again, as a client retrying would).
        """
        # a plain ``_Slot(item)``: calling the subscripted alias costs a typing round trip each
        slots: list[_Slot[T, R]] = [_Slot(item) for item in items]
        with self._cond:
            self._queue.extend(slots)
            while not all(s.done for s in slots):
                # queue empty: our items are in a group someone else is committing
                if self._in_flight >= self._max_in_flight or not self._queue:
                    self._cond.wait()
                    continue
                self._lead()
        for slot in slots:
            if slot.error is not None:
                raise slot.error
        return [slot.result for slot in slots]  # type: ignore[misc]  # set when done, no error

    def _lead(self) -> None:
        """Commit the next group; called and returns with the condition's lock held."""
        group = [self._queue.popleft() for _ in range(min(self._max, len(self._queue)))]
        self._in_flight += 1
        self._cond.release()
        try:
            try:
                results = self._commit([s.item for s in group])
                if len(results) != len(group):
                    raise RuntimeError("the group commit returned a result count unlike its input")
                for slot, result in zip(group, results, strict=True):
                    slot.result = result
            except BaseException as exc:
                for slot in group:
                    slot.error = exc
        finally:
            self._cond.acquire()
            for slot in group:
                slot.done = True
            self._in_flight -= 1
            self.groups += 1
            self._cond.notify_all()
