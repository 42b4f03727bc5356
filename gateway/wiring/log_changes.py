"""What new blocks did to the chain view's cached reads, told by the contracts' event logs.

The chain view caches physician standing and grant states per head
(:mod:`gateway.wiring.head_cache`). When the head moves it reads the logs of the new
blocks (one ``eth_getLogs`` over ``Grants``, ``Referrals`` and ``Consortium``) and this
module turns them into an update of each cached value:

- a ``Referrals`` event may end any grant's referral, a ``Consortium`` event any
  physician's standing: that whole kind is dropped (re-read on next use);
- a grant named (first indexed topic) only by ``AccessRedeemed`` events keeps its cached
  state with one use fewer per event: ``Grants.redeem`` changes nothing else of a grant
  (``g.uses += 1``, then the event), so the new state is exact. This is what spares the
  read of a grant right after its own redemption, on the path from a redemption to the
  first byte served;
- a grant named by any other ``Grants`` event (revocation, ...) is dropped.
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Hashable, Iterable, Mapping
from typing import Any

from gateway.domain import GrantState
from gateway.wiring.head_cache import STALE, Update


@dataclasses.dataclass(frozen=True, slots=True)
class Watched:
    """The contract addresses (lowercase hex) and the ``AccessRedeemed`` topic (hex)."""

    grants: str
    referrals: str
    consortium: str
    redeemed_topic: str


def _topic_int(topic: Any) -> int:
    return int(topic.hex() if isinstance(topic, bytes) else str(topic), 16)


def _topic_hex(topic: Any) -> str:
    text = "0x" + topic.hex() if isinstance(topic, bytes) else str(topic)
    return text.lower() if text.startswith("0x") else "0x" + text.lower()


def block_changes(logs: Iterable[Mapping[str, Any]], *, watched: Watched) -> Update:
    """The update of cached ``("grant", id)`` and ``("staff", ...)`` values these logs imply."""
    redeemed: Counter[int] = Counter()
    otherwise: set[int] = set()
    any_referral = any_member = False
    for log in logs:
        address, topics = str(log["address"]).lower(), list(log["topics"])
        if address == watched.referrals:
            any_referral = True
        elif address == watched.consortium:
            any_member = True
        elif address == watched.grants and len(topics) > 1:
            grant = _topic_int(topics[1])
            if _topic_hex(topics[0]) == watched.redeemed_topic:
                redeemed[grant] += 1
            else:
                otherwise.add(grant)

    def update(key: Hashable, value: object) -> object:
        assert isinstance(key, tuple)
        if key[0] != "grant":
            return STALE if any_member else value
        grant = int.from_bytes(bytes(key[1]), "big")
        if any_referral or grant in otherwise:
            return STALE
        uses = redeemed.get(grant, 0)
        if uses == 0:
            return value
        if not isinstance(value, GrantState):  # an unknown grant got redeemed: read it
            return STALE
        return dataclasses.replace(value, uses_left=max(0, value.uses_left - uses))

    return update
