"""``CaseChainAPI`` over the node's chain client: referral/grant transactions, views, logs.

Built on :class:`~node.chain.ChainClient` (local signing, nonces, decoded reverts).

Reverts surface as :class:`~node.exceptions.ChainRefused` (a ``ContractReverted`` naming
the contract's custom error, e.g. ``NotUpwardReferral``).
"""

from __future__ import annotations

from typing import Any

from eth_typing import ChecksumAddress
from web3 import Web3
from web3.contract.contract import ContractFunction
from web3.exceptions import Web3RPCError
from web3.types import TxReceipt

from contracts.typing import ReferralStatus, Tier
from node.cases.abc import CaseChainAPI
from node.cases.events import decode_log, event_abis
from node.cases.views import (
    CaseEvent,
    GrantView,
    MemberView,
    RecordAnchorView,
    ReferralView,
)
from node.chain import ChainClient
from node.exceptions import ChainRefused, ChainUnavailable, ContractReverted

ZERO_ADDRESS = "0x" + "00" * 20


class Web3CaseChain(CaseChainAPI):
    """The suite's contracts seen from one hospital account (``client.account``)."""

    def __init__(self, client: ChainClient) -> None:
        self._client = client
        self._consortium = client.contract("Consortium")
        self._referrals = client.contract("Referrals")
        self._grants = client.contract("Grants")
        self._anchors = client.contract("Anchors")
        self._chain_id: int | None = None

    @property
    def address(self) -> str:
        if self._client.account is None:
            raise ChainRefused("this chain client has no signing key")
        return str(self._client.account.address)

    @property
    def chain_id(self) -> int:
        if self._chain_id is None:
            self._chain_id = int(self._call(lambda: self._client.w3.eth.chain_id))
        return self._chain_id

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

    def _view(self, call: ContractFunction) -> Any:
        return self._client.call(call)

    @staticmethod
    def _call(fn: Any) -> Any:
        try:
            return fn()
        except (OSError, Web3RPCError) as exc:
            raise ChainUnavailable(f"chain RPC failed: {exc}") from exc

    def _event_arg(self, receipt: TxReceipt, event: str, arg: str) -> int:
        for log in receipt["logs"]:
            decoded = decode_log(log)
            if decoded is not None and decoded.name == event:
                return int(decoded.args[arg])
        raise ChainRefused(f"the transaction emitted no {event}")

    def head(self) -> int:
        return int(self._call(lambda: self._client.w3.eth.block_number))

    def events(self, from_block: int, to_block: int) -> list[CaseEvent]:
        params: Any = {
            "fromBlock": from_block,
            "toBlock": to_block,
            "address": [self._referrals.address, self._grants.address],
            "topics": [["0x" + t.hex() for t in event_abis()]],
        }
        logs = self._call(lambda: self._client.w3.eth.get_logs(params))
        decoded = [e for e in (decode_log(log) for log in logs) if e is not None]
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

    def referral(self, referral_id: int) -> ReferralView:
        r = self._view(self._referrals.functions.getReferral(referral_id))
        return ReferralView(referral_id, bytes(r[0]), str(r[1]), str(r[2]), int(r[3]), int(r[4]),
                            ReferralStatus(r[5]), int(r[6]), int(r[7]))  # fmt: skip

    def grant(self, grant_id: int) -> GrantView:
        g = self._view(self._grants.functions.getGrant(grant_id))
        return GrantView(grant_id, int(g[0]), bytes(g[1]), str(g[2]), str(g[3]), str(g[4]),
                         bytes(g[5]), int(g[6]), int(g[7]), int(g[8]), bool(g[9]),
                         bool(g[10]))  # fmt: skip

    def record_anchor(self, record_id: bytes) -> RecordAnchorView | None:
        a = self._view(self._anchors.functions.getRecord(record_id))
        if int(a[0], 16) == 0:
            return None
        return RecordAnchorView(str(a[0]), bytes(a[4]), str(a[8]), bytes(a[5]))

    def member(self, address: str) -> MemberView:
        checksum = ChecksumAddress(Web3.to_checksum_address(address))
        m = self._view(self._consortium.functions.getMember(checksum))
        active = bool(self._view(self._consortium.functions.isActiveMember(checksum)))
        return MemberView(str(checksum), str(m[0]), Tier(m[1]), active, bytes(m[3]), int(m[4]),
                          str(m[5]))  # fmt: skip
