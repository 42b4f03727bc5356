"""``CaseChainAPI`` with web3.py: referral and grant transactions, views and event logs.

Meant to be folded into the node's chain client (``node/chain.py``); until then it reuses
the contracts package's sender (:mod:`contracts.tx`), which surfaces reverts as decoded
custom errors, mapped here to :class:`~node.exceptions.ChainRefused`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from eth_account.signers.local import LocalAccount
from eth_typing import ChecksumAddress
from web3 import Web3
from web3.contract.contract import ContractFunction
from web3.types import TxReceipt

from contracts.deploy import Deployment, contract_at
from contracts.exceptions import TransactionFailed
from contracts.tx import send
from contracts.typing import ReferralStatus, Tier
from node.abc import CaseChainAPI
from node.cases.events import decode_log, event_abis
from node.cases.views import (
    CaseEvent,
    GrantView,
    MemberView,
    RecordAnchorView,
    ReferralView,
)
from node.exceptions import ChainRefused, ChainUnavailable

T = TypeVar("T")
ZERO_ADDRESS = "0x" + "00" * 20


def _guard(call: Callable[[], T]) -> T:
    try:
        return call()
    except TransactionFailed as exc:
        raise ChainRefused(str(exc), error=exc.error, args=tuple(exc.error_args)) from exc
    except (OSError, ConnectionError) as exc:
        raise ChainUnavailable(f"chain unreachable: {exc}") from exc


class Web3CaseChain(CaseChainAPI):
    """The suite's contracts seen from one hospital account.

    Parameters
    ----------
    w3
        A client from :func:`contracts.deploy.connect` (extraData middleware installed).
    account
        The hospital's signing key as an eth-account; ``None`` for a read-only follower.
    deployment
        The suite's addresses.
    """

    def __init__(self, w3: Web3, account: LocalAccount | None, deployment: Deployment) -> None:
        self._w3 = w3
        self._account = account
        self._deployment = deployment
        self._consortium = contract_at(w3, "Consortium", deployment.consortium)
        self._referrals = contract_at(w3, "Referrals", deployment.referrals)
        self._grants = contract_at(w3, "Grants", deployment.grants)
        self._anchors = contract_at(w3, "Anchors", deployment.anchors)
        self._chain_id: int | None = None

    @property
    def address(self) -> str:
        if self._account is None:
            raise ChainRefused("this chain client has no signing key")
        return str(self._account.address)

    @property
    def chain_id(self) -> int:
        if self._chain_id is None:
            self._chain_id = _guard(lambda: int(self._w3.eth.chain_id))
        return self._chain_id

    @property
    def grants_address(self) -> str:
        return str(self._deployment.grants)

    def _send(self, call: ContractFunction) -> TxReceipt:
        if self._account is None:
            raise ChainRefused("this chain client has no signing key")
        account = self._account
        return _guard(lambda: send(self._w3, account, call))

    def _event_arg(self, receipt: TxReceipt, event: str, arg: str) -> int:
        for log in receipt["logs"]:
            decoded = decode_log(log)
            if decoded is not None and decoded.name == event:
                return int(decoded.args[arg])
        raise ChainRefused(f"the transaction emitted no {event}")

    def head(self) -> int:
        return _guard(lambda: int(self._w3.eth.block_number))

    def events(self, from_block: int, to_block: int) -> list[CaseEvent]:
        params: Any = {
            "fromBlock": from_block,
            "toBlock": to_block,
            "address": [self._deployment.referrals, self._deployment.grants],
            "topics": [["0x" + t.hex() for t in event_abis()]],
        }
        logs = _guard(lambda: self._w3.eth.get_logs(params))
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
        r = _guard(lambda: self._referrals.functions.getReferral(referral_id).call())
        return ReferralView(referral_id, bytes(r[0]), str(r[1]), str(r[2]), int(r[3]), int(r[4]),
                            ReferralStatus(r[5]), int(r[6]), int(r[7]))  # fmt: skip

    def grant(self, grant_id: int) -> GrantView:
        g = _guard(lambda: self._grants.functions.getGrant(grant_id).call())
        return GrantView(grant_id, int(g[0]), bytes(g[1]), str(g[2]), str(g[3]), str(g[4]),
                         bytes(g[5]), int(g[6]), int(g[7]), int(g[8]), bool(g[9]),
                         bool(g[10]))  # fmt: skip

    def record_anchor(self, record_id: bytes) -> RecordAnchorView | None:
        a = _guard(lambda: self._anchors.functions.getRecord(record_id).call())
        if int(a[0], 16) == 0:
            return None
        return RecordAnchorView(str(a[0]), bytes(a[4]), str(a[8]), bytes(a[5]))

    def member(self, address: str) -> MemberView:
        checksum = ChecksumAddress(Web3.to_checksum_address(address))
        m = _guard(lambda: self._consortium.functions.getMember(checksum).call())
        active = _guard(lambda: bool(self._consortium.functions.isActiveMember(checksum).call()))
        return MemberView(str(checksum), str(m[0]), Tier(m[1]), active, bytes(m[3]), int(m[4]),
                          str(m[5]))  # fmt: skip
