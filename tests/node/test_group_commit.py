"""The leader/follower group committer with real threads (no stand-in: it is generic)."""

from __future__ import annotations

import threading

import pytest

from node.ingest.group_commit import GroupCommitter


class Recorder:
    """A commit function that records its groups; the first group waits for a release."""

    def __init__(self) -> None:
        self.groups: list[list[int]] = []
        self.entered = threading.Event()
        self.release = threading.Event()
        self.fail_on: int | None = None

    def __call__(self, items: list[int]) -> list[int]:
        self.groups.append(list(items))
        if len(self.groups) == 1:
            self.entered.set()
            assert self.release.wait(10)
        if self.fail_on is not None and self.fail_on in items:
            raise OSError("disk full")
        return [i * 10 for i in items]


def _submit_all(
    committer: GroupCommitter[int, int], items: range
) -> tuple[dict[int, object], list[threading.Thread]]:
    results: dict[int, object] = {}

    def one(i: int) -> None:
        try:
            results[i] = committer.submit(i)
        except OSError as exc:
            results[i] = exc

    threads = [threading.Thread(target=one, args=(i,)) for i in items]
    for t in threads:
        t.start()
    return results, threads


def _wait_queued(committer: GroupCommitter[int, int], n: int) -> None:
    for _ in range(1000):
        if len(committer._queue) >= n:
            return
        threading.Event().wait(0.005)
    raise AssertionError("the submissions never queued")


def test_requests_arriving_during_a_commit_share_the_next_group() -> None:
    commit = Recorder()
    committer = GroupCommitter(commit)
    first, threads = _submit_all(committer, range(1))
    assert commit.entered.wait(10)
    rest, more = _submit_all(committer, range(1, 40))
    _wait_queued(committer, 39)  # all 39 queued while the first commit is in flight
    commit.release.set()
    for t in threads + more:
        t.join(10)
    assert commit.groups[0] == [0]
    assert len(commit.groups) == 2 and sorted(commit.groups[1]) == list(range(1, 40))
    assert {**first, **rest} == {i: i * 10 for i in range(40)}
    assert committer.groups == 2


def test_a_failed_commit_fails_its_whole_group_and_only_it() -> None:
    commit = Recorder()
    commit.fail_on = 5
    committer = GroupCommitter(commit, max_group=8)
    first, threads = _submit_all(committer, range(1))
    assert commit.entered.wait(10)
    rest, more = _submit_all(committer, range(1, 17))
    _wait_queued(committer, 16)
    commit.release.set()
    for t in threads + more:
        t.join(10)
    results = {**first, **rest}
    failed_group = next(g for g in commit.groups if 5 in g)
    assert len(commit.groups) == 3 and all(len(g) <= 8 for g in commit.groups)
    for i in range(17):
        if i in failed_group:
            assert isinstance(results[i], OSError)
        else:
            assert results[i] == i * 10


def test_submit_many_returns_results_in_order_over_several_groups() -> None:
    committer = GroupCommitter(lambda items: [-i for i in items], max_group=3)
    assert committer.submit_many(list(range(10))) == [-i for i in range(10)]
    assert committer.groups == 4


def test_a_commit_returning_the_wrong_count_fails_loudly() -> None:
    committer: GroupCommitter[int, int] = GroupCommitter(lambda items: [])
    with pytest.raises(RuntimeError, match="result count"):
        committer.submit(1)


def test_with_two_in_flight_a_second_group_commits_while_the_first_waits_on_its_disk() -> None:
    commit = Recorder()
    committer = GroupCommitter(commit, max_in_flight=2)
    first, first_threads = _submit_all(committer, range(1))
    assert commit.entered.wait(10)  # group [0] is committing and blocked
    assert committer.submit_many([1, 2]) == [10, 20]  # led by this caller meanwhile
    assert first == {}
    commit.release.set()
    for t in first_threads:
        t.join(10)
    assert first == {0: 0} and commit.groups == [[0], [1, 2]]
