"""The real :class:`~gateway.abc.ChainViewAPI`: the contracts read and written through web3.

Built on the node's :class:`~node.chain.ChainClient` (contract bindings from the committed
artifacts, local signing, one nonce counter, reverts decoded into the custom error's name),
so the gateway and the node speak to the chain with one piece of code. Redemptions are sent
by the hospital's gateway *operator* account (registered as operator staff of the hospital
in ``Consortium``): the contract accepts a redemption from the physician or from an operator
of the grantee, and the physician's browser holds no gas-paying account. Our BFT chain
finalizes with the block, so a successful receipt is final.
"""

from __future__ import annotations

import hashlib
from typing import Any

from eth_utils.abi import event_abi_to_log_topic
from web3 import Web3

from common.lru import BoundedMemo
from gateway import exceptions as refusals
from gateway.abc import ChainViewAPI
from gateway.domain import BatchAnchor, GrantState, PhysicianStatus, Redemption
from gateway.typing import PhysicianAddress
from gateway.wiring.head_cache import STALE, HeadCache, Update
from gateway.wiring.log_changes import Watched, block_changes
from gateway.wiring.rpc import RawReader
from keys.typing import CaseId, GrantId, HospitalAddress
from node import exceptions as node_errors
from node.chain import ChainClient

ZERO_ADDRESS = "0x" + "00" * 20
#: ``StaffStatus`` / ``Role`` enum values of ``contracts/src/Types.sol``.
_STAFF_ACTIVE, _STAFF_SUSPENDED = 1, 2
_ROLE_PHYSICIAN = 1

#: Custom errors of ``Grants.redeem`` and the refusal each one is to the caller.
_REFUSALS: dict[str, type[refusals.GatewayError]] = {
    "UnknownGrant": refusals.UnknownGrant,
    "GrantIsRevoked": refusals.GrantRevoked,
    "GrantExpired": refusals.GrantExpired,
    "GrantExhausted": refusals.GrantExhausted,
    "ReferralNotActive": refusals.NotReferred,
    "NotActiveMember": refusals.WrongHospital,
    "NotAuthorizedToRedeem": refusals.WrongHospital,
    "PhysicianNotActiveAtGrantee": refusals.PhysicianSuspended,
    "PhysicianNotNamedInGrant": refusals.WrongPhysician,
    "RedemptionReplayed": refusals.TokenMismatch,
}


#: A head jump longer than this (a long stall) re-reads everything instead of its logs.
MAX_LOG_SPAN = 256
#: ``Grants.redeem`` uses ~91k gas (bench/gas.py); the limit leaves room for storage changes.
REDEEM_GAS = 250_000
#: Receipt poll interval while a redemption waits to be final (blocks come every ~100 ms).
RECEIPT_POLL_S = 0.01


def grant_number(grant: GrantId) -> int:
    """The contract's ``uint256`` grant id from the gateway's 32-byte id."""
    return int.from_bytes(bytes(grant), "big")


def redemption_nonce(token: str) -> bytes:
    """The on-chain nonce of a redemption: a digest of the token (one redemption per token)."""
    return hashlib.sha256(token.encode()).digest()


def refusal_for(exc: node_errors.ContractReverted) -> refusals.GatewayError:
    """The gateway refusal matching a decoded revert (the error's name is kept in detail)."""
    cls = _REFUSALS.get(exc.error or "")
    if cls is None:
        return refusals.ChainUnavailable(f"redemption reverted: {exc.error or 'unknown error'}")
    return cls(f"the Grants contract refused: {exc.error}")


class Web3ChainView(ChainViewAPI):
    """Physician standing and grant state read from the contracts; redemptions sent signed.

    Parameters
    ----------
    client
        A chain client whose account is the hospital's gateway operator (``None`` account:
        read-only, redemptions refused with ``ChainUnavailable``).
    """

    def __init__(
        self, client: ChainClient, *, receipt_timeout_s: float = 30.0, head_max_age_s: float = 0.1
    ) -> None:
        self._client = client
        #: Hot-path reads, one round trip each (see :mod:`gateway.wiring.rpc`).
        self._reads = RawReader(client)
        self._timeout = receipt_timeout_s
        #: Standing and grant reads, per head (see :mod:`gateway.wiring.head_cache`).
        self._per_head = HeadCache(self._block_number, max_age_s=head_max_age_s,
                                   changes=self._changed)  # fmt: skip
        self._watch: Watched | None = None
        #: Found batch roots: final, so never re-read (absent ones always are).
        self._batches: BoundedMemo[bytes, BatchAnchor] = BoundedMemo()

    def batch_anchor(self, *, root: bytes) -> BatchAnchor | None:
        found = self._batches.get(bytes(root))
        if found is not None:
            return found
        (b,) = self._reads.call("Anchors", "getBatch", bytes(root))
        hospital, count, block = str(b[0]), int(b[1]), int(b[3])
        if hospital.lower() == ZERO_ADDRESS:
            return None
        found = BatchAnchor(HospitalAddress(Web3.to_checksum_address(hospital)), block, count)
        return self._batches.put(bytes(root), found)

    def _block_number(self) -> int:
        return self._reads.block_number()

    def _changed(self, old: int, new: int) -> Update:
        """What the blocks ``(old, new]`` did to cached reads, from their event logs.

        See :mod:`gateway.wiring.log_changes`: a grant named only by its redemptions is
        updated in place, one named by any other ``Grants`` event is re-read, and a
        ``Referrals`` or ``Consortium`` event drops that whole kind.
        """
        if new - old > MAX_LOG_SPAN:
            return lambda _key, _value: STALE
        watched = self._watched()
        logs = self._reads.logs(
            from_block=old + 1,
            to_block=new,
            addresses=[watched.grants, watched.referrals, watched.consortium],
        )
        return block_changes(logs, watched=watched)

    def _watched(self) -> Watched:
        if self._watch is None:
            grants = self._client.contract("Grants")
            topic = event_abi_to_log_topic(grants.events.AccessRedeemed.abi)
            self._watch = Watched(
                grants=grants.address.lower(),
                referrals=self._client.contract("Referrals").address.lower(),
                consortium=self._client.contract("Consortium").address.lower(),
                redeemed_topic="0x" + topic.hex(),
            )
        return self._watch

    def physician_status(
        self, *, hospital: HospitalAddress, physician: PhysicianAddress
    ) -> PhysicianStatus:
        return self._per_head.get(("staff", hospital, physician),
                                  lambda: self._physician_status(hospital, physician))  # fmt: skip

    def grant_state(self, *, grant: GrantId) -> GrantState | None:
        return self._per_head.get(("grant", bytes(grant)), lambda: self._grant_state(grant))

    def _physician_status(
        self, hospital: HospitalAddress, physician: PhysicianAddress
    ) -> PhysicianStatus:
        (staff,) = self._reads.call("Consortium", "getStaff", physician)
        staff_hospital, role, status = str(staff[0]), int(staff[1]), int(staff[2])
        if staff_hospital.lower() != hospital.lower() or role != _ROLE_PHYSICIAN:
            return PhysicianStatus.NOT_REGISTERED
        if (
            status == _STAFF_ACTIVE
            and self._reads.call("Consortium", "isActivePhysician", hospital, physician)[0]
        ):
            return PhysicianStatus.ACTIVE
        if status in (_STAFF_ACTIVE, _STAFF_SUSPENDED):
            # Active staff of a suspended hospital cannot act either.
            return PhysicianStatus.SUSPENDED
        return PhysicianStatus.NOT_REGISTERED

    def _grant_state(self, grant: GrantId) -> GrantState | None:
        (g,) = self._reads.call("Grants", "getGrant", grant_number(grant))
        referral_id, case_id, grantor, grantee, physician = g[0], g[1], g[2], g[3], g[4]
        expires_at, max_uses, uses, revoked, break_glass = g[6], g[7], g[8], g[9], g[10]
        if str(grantor).lower() == ZERO_ADDRESS:
            return None
        referral_active = bool(break_glass) or bool(
            self._reads.call("Referrals", "isActive", int(referral_id))[0]
        )
        named = (
            None if str(physician).lower() == ZERO_ADDRESS else Web3.to_checksum_address(physician)
        )
        return GrantState(
            grant_id=grant,
            case_id=CaseId(bytes(case_id)),
            grantor=HospitalAddress(Web3.to_checksum_address(grantor)),
            grantee=HospitalAddress(Web3.to_checksum_address(grantee)),
            expiry=int(expires_at),
            revoked=bool(revoked),
            uses_left=max(0, int(max_uses) - int(uses)),
            referral_active=referral_active,
            physician=PhysicianAddress(named) if named is not None else None,
        )

    def record_redemption(
        self, *, grant: GrantId, physician: PhysicianAddress, token: str
    ) -> Redemption:
        fn = self._client.contract("Grants").functions.redeem(
            grant_number(grant), physician, redemption_nonce(token)
        )
        try:
            # A fixed gas limit skips eth_estimateGas (a whole extra EVM run on the critical
            # path); a refusal then shows as a failed receipt, explained by a dry run below.
            tx_hash = self._client.send(fn, gas=REDEEM_GAS)
        except node_errors.ContractReverted as exc:
            raise refusal_for(exc) from exc
        except node_errors.ChainError as exc:
            raise refusals.ChainUnavailable(f"the chain cannot be written: {exc}") from exc
        try:
            # Raw polls (one round trip, no web3 formatting) at a short interval: the
            # receipt is waited for on every redemption's critical path.
            succeeded, block = self._reads.wait(tx_hash, timeout_s=self._timeout,
                                                poll_s=RECEIPT_POLL_S)  # fmt: skip
        except TimeoutError as exc:
            raise refusals.ChainUnavailable("the redemption is not final yet") from exc
        if not succeeded:
            raise self._why_reverted(fn)
        return Redemption(
            grant_id=grant,
            physician=physician,
            tx_hash=bytes(tx_hash),
            block_number=block,
        )

    def _why_reverted(self, fn: Any) -> refusals.GatewayError:
        """The refusal a reverted redemption stands for: the same call, dry-run now."""
        try:
            self._client.call(fn)
        except node_errors.ContractReverted as exc:
            return refusal_for(exc)
        except node_errors.ChainError:
            pass
        return refusals.ChainUnavailable("the redemption reverted on chain")
