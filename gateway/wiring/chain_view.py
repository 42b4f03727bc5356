"""The real :class:`~gateway.abc.ChainViewAPI`: the contracts read and written through the binding.

Built on :class:`contracts.client.ChainClient` (local signing, one nonce counter, reverts
decoded into the custom error's name) and its typed reads (one JSON-RPC round trip each,
:mod:`contracts.rpc`), so the gateway, the node and the consortium tooling speak to the
chain with one piece of code. Redemptions are sent by the hospital's gateway *operator*
account (registered as operator staff of the hospital in ``Consortium``): the contract
accepts a redemption from the physician or from an operator of the grantee, and the
physician's browser holds no gas-paying account. Our BFT chain finalizes with the block,
so a successful receipt is final.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from common.lru import BoundedMemo
from contracts import exceptions as binding
from contracts.client import ChainClient
from contracts.events import event_topic
from contracts.refusals import Refusal, meaning
from contracts.typing import Role, StaffStatus
from contracts.views import AnchoredBatch
from gateway import exceptions as refusals
from gateway.abc import ChainViewAPI
from gateway.domain import GrantState, PhysicianApproval, PhysicianStatus, Redemption
from gateway.typing import PhysicianAddress
from gateway.wiring.head_cache import STALE, HeadCache, Update
from gateway.wiring.log_changes import Watched, block_changes
from keys.token_wire import SignedToken
from keys.typing import CaseId, GrantId, HospitalAddress

T = TypeVar("T")

#: What each revert of ``Grants.redeem`` is to the caller (meanings: ``contracts.refusals``).
_REFUSALS: dict[Refusal, type[refusals.GatewayError]] = {
    Refusal.UNKNOWN_GRANT: refusals.UnknownGrant,
    Refusal.GRANT_REVOKED: refusals.GrantRevoked,
    Refusal.GRANT_EXPIRED: refusals.GrantExpired,
    Refusal.GRANT_EXHAUSTED: refusals.GrantExhausted,
    Refusal.REFERRAL_NOT_ACTIVE: refusals.NotReferred,
    Refusal.NOT_ACTIVE_MEMBER: refusals.WrongHospital,
    Refusal.NOT_AUTHORIZED_TO_REDEEM: refusals.WrongHospital,
    Refusal.PHYSICIAN_NOT_ACTIVE: refusals.PhysicianSuspended,
    Refusal.WRONG_PHYSICIAN: refusals.WrongPhysician,
    Refusal.REPLAYED: refusals.RedemptionReplayed,
    Refusal.TOKEN_INVALID: refusals.TokenForged,
    Refusal.PHYSICIAN_SIGNATURE_INVALID: refusals.RedemptionUnsigned,
    Refusal.DEADLINE_PASSED: refusals.RedemptionDeadline,
}

#: A head jump longer than this (a long stall) re-reads everything instead of its logs.
MAX_LOG_SPAN = 256
#: ``Grants.redeem`` uses ~110k gas with its two ecrecovers (bench/gas.py); the limit leaves
#: room for storage changes.
REDEEM_GAS = 300_000
#: Receipt poll interval while a redemption waits to be final (blocks come every ~100 ms).
RECEIPT_POLL_S = 0.01


def grant_number(grant: GrantId) -> int:
    """The contract's ``uint256`` grant id from the gateway's 32-byte id."""
    return int.from_bytes(bytes(grant), "big")


def redeem_args(token: str, approval: PhysicianApproval) -> tuple[object, ...]:
    """``Grants.redeem``'s arguments: the token's signed fields and signature, the approval."""
    t = SignedToken.decode(token)
    fields = (t.grant_id, t.case_id, t.grantee, t.scope_root, t.expiry, t.nonce)
    signed = (approval.physician, approval.nonce, approval.deadline, approval.signature)
    return (int.from_bytes(t.grant_id, "big"), fields, t.signature, signed)


def refusal_for(exc: binding.TransactionFailed) -> refusals.GatewayError:
    """The gateway refusal matching a decoded revert (the error's name is kept in detail)."""
    refusal = meaning(exc.error)
    cls = _REFUSALS.get(refusal) if refusal is not None else None
    if cls is None:
        return refusals.ChainUnavailable(f"redemption reverted: {exc.error or 'unknown error'}")
    return cls(f"the Grants contract refused: {exc.error}")


def _read(fn: Callable[[], T]) -> T:
    """A binding read; any failure to read is the gateway's 503."""
    try:
        return fn()
    except binding.ChainError as exc:
        raise refusals.ChainUnavailable(str(exc)) from exc


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
        self._reads = client.reads
        self._timeout = receipt_timeout_s
        #: Standing and grant reads, per head (see :mod:`gateway.wiring.head_cache`).
        self._per_head = HeadCache(self._block_number, max_age_s=head_max_age_s,
                                   changes=self._changed)  # fmt: skip
        self._watch: Watched | None = None
        #: Found batch roots: final, so never re-read (absent ones always are).
        self._batches: BoundedMemo[bytes, AnchoredBatch] = BoundedMemo()

    def batch_anchor(self, *, root: bytes) -> AnchoredBatch | None:
        found = self._batches.get(bytes(root))
        if found is not None:
            return found
        found = _read(lambda: self._reads.batch(bytes(root)))
        return None if found is None else self._batches.put(bytes(root), found)

    def _block_number(self) -> int:
        return _read(self._reads.head)

    def _changed(self, old: int, new: int) -> Update:
        """What the blocks ``(old, new]`` did to cached reads, from their event logs.

        See :mod:`gateway.wiring.log_changes`: a grant named only by its redemptions is
        updated in place, one named by any other ``Grants`` event is re-read, and a
        ``Referrals`` or ``Consortium`` event drops that whole kind.
        """
        if new - old > MAX_LOG_SPAN:
            return lambda _key, _value: STALE
        watched = self._watched()
        logs = _read(lambda: self._client.raw.logs(
            from_block=old + 1, to_block=new,
            addresses=[watched.grants, watched.referrals, watched.consortium]))  # fmt: skip
        return block_changes(logs, watched=watched)

    def _watched(self) -> Watched:
        if self._watch is None:
            raw = self._client.raw
            self._watch = Watched(
                grants=raw.address("Grants").lower(),
                referrals=raw.address("Referrals").lower(),
                consortium=raw.address("Consortium").lower(),
                redeemed_topic="0x" + event_topic("Grants", "AccessRedeemed").hex(),
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
        staff = _read(lambda: self._reads.staff(physician))
        if staff.hospital.lower() != hospital.lower() or staff.role is not Role.PHYSICIAN:
            return PhysicianStatus.NOT_REGISTERED
        if staff.status is StaffStatus.ACTIVE and _read(
            lambda: self._reads.is_active_physician(hospital, physician)
        ):
            return PhysicianStatus.ACTIVE
        if staff.status in (StaffStatus.ACTIVE, StaffStatus.SUSPENDED):
            # Active staff of a suspended hospital cannot act either.
            return PhysicianStatus.SUSPENDED
        return PhysicianStatus.NOT_REGISTERED

    def _grant_state(self, grant: GrantId) -> GrantState | None:
        g = _read(lambda: self._reads.grant(grant_number(grant)))
        if not g.issued:
            return None
        referral_active = g.break_glass or _read(lambda: self._reads.referral_active(g.referral_id))
        named = g.named_physician
        return GrantState(
            grant_id=grant,
            case_id=CaseId(g.case_id),
            grantor=HospitalAddress(g.grantor),
            grantee=HospitalAddress(g.grantee),
            expiry=g.expires_at,
            revoked=g.revoked,
            uses_left=max(0, g.max_uses - g.uses),
            referral_active=referral_active,
            physician=PhysicianAddress(named) if named is not None else None,
        )

    def record_redemption(
        self, *, grant: GrantId, token: str, approval: PhysicianApproval
    ) -> Redemption:
        args = redeem_args(token, approval)
        if args[0] != grant_number(grant):
            raise refusals.TokenMismatch("the token is for another grant")
        fn = self._client.contract("Grants").functions.redeem(*args)
        try:
            # A fixed gas limit skips eth_estimateGas (a whole extra EVM run on the critical
            # path); a refusal then shows as a failed receipt, explained by a dry run below.
            tx_hash = self._client.send(fn, gas=REDEEM_GAS)
        except binding.TransactionFailed as exc:
            raise refusal_for(exc) from exc
        except binding.ChainError as exc:
            raise refusals.ChainUnavailable(f"the chain cannot be written: {exc}") from exc
        try:
            # Raw polls (one round trip, no web3 formatting) at a short interval: the
            # receipt is waited for on every redemption's critical path.
            succeeded, block = _read(lambda: self._client.raw.wait(
                tx_hash, timeout_s=self._timeout, poll_s=RECEIPT_POLL_S))  # fmt: skip
        except TimeoutError as exc:
            raise refusals.ChainUnavailable("the redemption is not final yet") from exc
        if not succeeded:
            raise self._why_reverted(fn)
        return Redemption(
            grant_id=grant,
            physician=approval.physician,
            tx_hash=bytes(tx_hash),
            block_number=block,
        )

    def _why_reverted(self, fn: Any) -> refusals.GatewayError:
        """The refusal a reverted redemption stands for: the same call, dry-run now."""
        try:
            self._client.call(fn)
        except binding.TransactionFailed as exc:
            return refusal_for(exc)
        except binding.ChainError:
            pass
        return refusals.ChainUnavailable("the redemption reverted on chain")
