"""Which keys a validator links with at a height: the chain's validators, then its config.

The chain decides (``ledger.validator_sets``): the validators in force at the next height
are allowed. A configured peer the chain has never listed up to that height is allowed too:
a bootstrap peer of a node still syncing towards the block that admitted it. A configured
peer the chain listed once and no longer does was removed, and the chain wins over the
config file.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence

from ledger.typing import Address

#: ``(first height, validators)`` from genesis on, as ``Ledger.validator_changes`` gives.
History = Sequence[tuple[int, Sequence[Address]]]


def allowed_peers(
    *, history: History, height: int, configured: Collection[Address]
) -> frozenset[Address]:
    """The keys to accept and dial while deciding ``height`` (see the module docstring)."""
    listed: set[Address] = set()
    current: Sequence[Address] = ()
    for start, members in history:
        if start > height:
            break
        listed.update(members)
        current = members
    return frozenset(current) | (frozenset(configured) - listed)
