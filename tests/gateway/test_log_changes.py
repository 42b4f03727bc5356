"""New blocks' event logs → what happens to the chain view's cached reads.

Pure function over log dicts shaped as ``eth_getLogs`` returns them (hex strings); the
real chain view reads them from a real chain in tests/integration.
"""

from __future__ import annotations

from eth_utils.address import to_checksum_address

from gateway.domain import GrantState
from gateway.wiring.head_cache import STALE
from gateway.wiring.log_changes import Watched, block_changes
from keys.typing import CaseId, GrantId, HospitalAddress

WATCHED = Watched(grants="0x" + "aa" * 20, referrals="0x" + "bb" * 20,
                  consortium="0x" + "cc" * 20, redeemed_topic="0x" + "11" * 32)  # fmt: skip
OTHER_TOPIC = "0x" + "22" * 32
ADDRESS = HospitalAddress(to_checksum_address("0x" + "01" * 20))


def _state(grant: int, uses_left: int) -> GrantState:
    return GrantState(
        grant_id=GrantId(grant.to_bytes(32, "big")), case_id=CaseId(b"\x01" * 32),
        grantor=ADDRESS, grantee=ADDRESS,
        expiry=2**40, revoked=False, uses_left=uses_left, referral_active=True, physician=None,
    )  # fmt: skip


def _log(address: str, *topics: str) -> dict[str, object]:
    return {"address": address.upper().replace("0X", "0x"), "topics": list(topics)}


def _grant_topic(grant: int) -> str:
    return "0x" + grant.to_bytes(32, "big").hex()


def _key(grant: int) -> tuple[str, bytes]:
    return ("grant", grant.to_bytes(32, "big"))


def test_a_grants_own_redemptions_count_uses_and_other_grant_events_drop_it() -> None:
    logs = [_log(WATCHED.grants, WATCHED.redeemed_topic, _grant_topic(7)),
            _log(WATCHED.grants, WATCHED.redeemed_topic.upper().replace("0X", "0x"),
                 _grant_topic(7)),
            _log(WATCHED.grants, WATCHED.redeemed_topic, _grant_topic(8)),
            _log(WATCHED.grants, OTHER_TOPIC, _grant_topic(8))]  # fmt: skip
    update = block_changes(logs, watched=WATCHED)
    assert update(_key(7), _state(7, 5)) == _state(7, 3)  # two redemptions, nothing else
    assert update(_key(8), _state(8, 5)) is STALE  # redeemed and, say, revoked: re-read
    assert update(_key(9), _state(9, 5)) == _state(9, 5)  # untouched
    assert update(_key(7), None) is STALE  # was unknown, now redeemed: read it
    assert update(("staff", "h", "p"), "active") == "active"


def test_referral_and_membership_events_drop_their_whole_kind() -> None:
    referral = block_changes([_log(WATCHED.referrals, OTHER_TOPIC)], watched=WATCHED)
    assert referral(_key(7), _state(7, 5)) is STALE
    assert referral(("staff", "h", "p"), "active") == "active"
    member = block_changes([_log(WATCHED.consortium, OTHER_TOPIC)], watched=WATCHED)
    assert member(("staff", "h", "p"), "active") is STALE
    assert member(_key(7), _state(7, 5)) == _state(7, 5)
    assert block_changes([], watched=WATCHED)(_key(7), _state(7, 1)) == _state(7, 1)
