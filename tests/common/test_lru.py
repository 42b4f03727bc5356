"""The gateway's caches of immutable facts are bounded: least recently used goes first."""

from __future__ import annotations

import pytest

from common.lru import BoundedMemo


def test_a_full_memo_evicts_the_least_recently_used_entry() -> None:
    memo: BoundedMemo[str, int] = BoundedMemo(max_entries=2)
    assert memo.put("a", 1) == 1 and memo.put("b", 2) == 2
    assert memo.get("a") == 1  # "a" is now the most recently used
    memo.put("c", 3)
    assert (memo.get("a"), memo.get("b"), memo.get("c"), len(memo)) == (1, None, 3, 2)
    with pytest.raises(ValueError, match="at least 1"):
        BoundedMemo(max_entries=0)
