"""``CaseChainAPI`` over the node's chain client: referral/grant transactions, views, logs.

Transactions go through :class:`~node.chain.ChainClient` (local signing, nonces, decoded
reverts), views through its typed reads (:mod:`contracts.reads`) and logs through the
binding's one decoder (:mod:`contracts.events`). Reverts surface as
:class:`~node.exceptions.ChainRefused` (a ``ContractReverted`` naming the contract's custom
error, e.g. ``NotUpwardReferral``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from web3.contract.contract import ContractFunction
from web3.types import TxReceipt

from contracts.events import EventDecoder, LogEvent, event_topic
from contracts.exceptions import ChainError as BindingError
from contracts.views import GrantView, MemberView, RecordAnchorView, ReferralView
from node.cases.abc import CaseChainAPI
from node.chain import ChainClient
from node.exceptions import ChainRefused, ChainUnavailable, ContractReverted

T = TypeVar("T")
ZERO_ADDRESS = "0x" + "00" * 20

#: The events a hospital node acts on or keeps in its case history.
FOLLOWED = {
    "Referrals": ("ReferralInitiated", "ReferralAccepted", "ReferralDeclined",
                  "ReferralCompleted", "ReferralCancelled"),
    "Grants": ("GrantIssued", "GrantRevoked", "BreakGlassAccess", "BreakGlassReviewed"),
}  # fmt: skip


def _read(fn: Callable[[], T]) -> T:
    try:
        return fn()
    except BindingError as exc:
        raise ChainUnavailable(f"chain RPC failed: {exc}") from exc


class Web3CaseChain(CaseChainAPI):
    """The suite's contracts seen from one hospital account (``client.account``)."""

    def __init__(self, client: ChainClient) -> None:
        self._client = client
        self._referrals = client.contract("Referrals")
        self._grants = client.contract("Grants")
        self._decoder = EventDecoder(client.addresses, FOLLOWED)
        self._followed = [event_topic(c, n) for c, names in FOLLOWED.items() for n in names]

    @property
    def address(self) -> str:
        if self._client.account is None:
            raise ChainRefused("this chain client has no signing key")
        return str(self._client.account.address)

    @property
    def chain_id(self) -> int:
        return self._client.chain_id

    @property
    def grants_address(self) -> str:
        return str(self._grants.address)

    def _send(self, call: ContractFunction) -> TxReceipt:
        try:
            return self._client.transact(call)
        except ContractReverted as exc:
            if isinstance(exc, ChainRefused):
                raise
            raise ChainRefused(str(exc), error=exc.error, args=exc.error_args) from exc

    def _decode(self, log: Mapping[str, Any]) -> LogEvent | None:
        try:
            return self._decoder.decode(log)
        except BindingError as exc:
            raise ChainUnavailable(str(exc)) from exc

    def _event_arg(self, receipt: TxReceipt, event: str, arg: str) -> int:
        for log in receipt["logs"]:
            decoded = self._decode(log)
            if decoded is not None and decoded.name == event:
                return int(decoded.args[arg])
        raise ChainRefused(f"the transaction emitted no {event}")

    def head(self) -> int:
        return _read(self._client.reads.head)

    def events(self, from_block: int, to_block: int) -> list[LogEvent]:
        logs = _read(lambda: self._client.raw.logs(
            from_block=from_block, to_block=to_block, addresses=self._decoder.addresses(),
            topic0=self._followed))  # fmt: skip
        decoded = [e for e in (self._decode(log) for log in logs) if e is not None]
        return sorted(decoded, key=lambda e: e.position)

    def refer(self, *, case_id: bytes, target: str, reason_code: int, expires_at: int) -> int:
        call = self._referrals.functions.initiate(case_id, target, reason_code, expires_at)
        return self._event_arg(self._send(call), "ReferralInitiated", "referralId")

    def accept(self, referral_id: int) -> None:
        self._send(self._referrals.functions.accept(referral_id))

    def decline(self, referral_id: int, *, reason_code: int) -> None:
        self._send(self._referrals.functions.decline(referral_id, reason_code))

    def complete(self, referral_id: int) -> None:
        self._send(self._referrals.functions.complete(referral_id))

    def refer_back(self, referral_id: int, *, reason_code: int, expires_at: int) -> int:
        call = self._referrals.functions.referBack(referral_id, reason_code, expires_at)
        return self._event_arg(self._send(call), "ReferralInitiated", "referralId")

    def issue_grant(self, *, referral_id: int, grantee: str, physician: str | None,
                    scope_root: bytes, expires_at: int, max_uses: int) -> int:  # fmt: skip
        call = self._grants.functions.issue(
            referral_id, grantee, physician or ZERO_ADDRESS, scope_root, expires_at, max_uses
        )
        return self._event_arg(self._send(call), "GrantIssued", "grantId")

    def revoke_grant(self, grant_id: int) -> None:
        self._send(self._grants.functions.revoke(grant_id))

    def review_break_glass(self, grant_id: int, *, justified: bool, note_hash: bytes) -> None:
        self._send(self._grants.functions.reviewBreakGlass(grant_id, justified, note_hash))

    def referral(self, referral_id: int) -> ReferralView:
        return _read(lambda: self._client.reads.referral(referral_id))

    def grant(self, grant_id: int) -> GrantView:
        return _read(lambda: self._client.reads.grant(grant_id))

    def record_anchor(self, record_id: bytes) -> RecordAnchorView | None:
        return _read(lambda: self._client.reads.record_anchor(record_id))

    def member(self, address: str) -> MemberView:
        return _read(lambda: self._client.reads.member(address))
