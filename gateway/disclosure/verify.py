"""Verification of a disclosure log against its anchored heads.

Recomputes every entry's hash from its fields and its predecessor's hash, checks the ``seq``
numbers run 1..n without a gap, then checks each head anchored on chain equals the hash of
the entry at the anchored count. An entry deleted, edited or inserted anywhere up to the
last anchor breaks one of these; after the last anchor, only the chain itself vouches.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from gateway.disclosure.abc import AnchoredHead
from gateway.disclosure.entry import GENESIS, Entry


@dataclass(frozen=True, slots=True)
class Verification:
    """The outcome: ``ok`` only when the chain is whole and every anchor matches."""

    count: int
    head: str
    chain_ok: bool
    anchors_checked: int
    anchored_count: int
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.chain_ok and not self.problems


def verify(entries: Sequence[Entry], anchors: Sequence[AnchoredHead]) -> Verification:
    """Check ``entries`` (the whole log, in order) and ``anchors`` against each other."""
    problems: list[str] = []
    prev = GENESIS.hex()
    hashes: list[str] = []
    for position, entry in enumerate(entries, start=1):
        if entry.seq != position:
            problems.append(f"entry {position}: seq is {entry.seq} (an entry missing or moved)")
        if entry.prev != prev:
            problems.append(f"entry {position}: prev does not match entry {position - 1}")
        if entry.expected_hash() != entry.hash:
            problems.append(f"entry {position}: hash does not match its fields (edited)")
        prev = entry.hash
        hashes.append(entry.hash)
    chain_ok = not problems
    for anchor in anchors:
        if anchor.count > len(hashes):
            problems.append(f"anchor {anchor.seq}: {anchor.count} entries anchored, "
                            f"{len(hashes)} in the log (entries removed)")  # fmt: skip
        elif hashes[anchor.count - 1] != anchor.head.hex():
            problems.append(f"anchor {anchor.seq}: entry {anchor.count} is not the anchored head")
    return Verification(
        count=len(hashes), head=prev, chain_ok=chain_ok, anchors_checked=len(anchors),
        anchored_count=max((a.count for a in anchors), default=0), problems=problems,
    )  # fmt: skip
