"""The real :class:`~gateway.abc.BreakGlassChainAPI`: relayed ``breakGlass``, operator redeem.

``Grants.breakGlass`` takes the physician as ``msg.sender``, so the physician signs the
transaction (the key never reaches the gateway) and the gateway relays the raw bytes only
after checking they are that physician's call to this Grants contract's ``breakGlass``.
The scope is always :data:`node.cases.breakglass.WHOLE_CASE`: the physician cannot know
the case's record ids; the owner releases what it holds of the case.
"""

from __future__ import annotations

from typing import Any

import rlp
from eth_account import Account
from eth_utils.address import to_checksum_address
from web3.exceptions import ContractCustomError, ContractLogicError, TimeExhausted, Web3RPCError

from contracts import exceptions as binding
from contracts.client import ChainClient
from contracts.refusals import Refusal, meaning
from gateway import exceptions as refusals
from gateway.abc import BreakGlassChainAPI
from gateway.domain import PhysicianApproval, Redemption
from gateway.typing import PhysicianAddress
from gateway.wiring.chain_view import RECEIPT_POLL_S, REDEEM_GAS, grant_number, refusal_for
from keys.typing import CaseId, GrantId, HospitalAddress
from node.cases.breakglass import WHOLE_CASE

#: ``breakGlass`` writes a grant, a review slot and the rate-limit ring: ~150k gas.
BREAK_GLASS_GAS = 400_000
MAX_RAW_TX_BYTES = 4096

_DRY_RUN: dict[str, type[refusals.GatewayError]] = {
    "NotUpwardAccess": refusals.NotUpperTier,
    "PhysicianNotActiveAtGrantee": refusals.PhysicianSuspended,
    "NotActiveMember": refusals.WrongHospital,
    "ReasonCodeRequired": refusals.BadRequest,
    "BreakGlassTooLong": refusals.BadRequest,
    "ZeroMaxUses": refusals.BadRequest,
    "ZeroCaseId": refusals.BadRequest,
}


def _refusal(exc: binding.TransactionFailed) -> refusals.GatewayError:
    if meaning(exc.error) is Refusal.BREAK_GLASS_RATE_LIMITED:
        return refusals.BreakGlassRateLimited(f"the Grants contract refused: {exc.error}")
    cls = _DRY_RUN.get(exc.error or "")
    if cls is not None:
        return cls(f"the Grants contract refused: {exc.error}")
    return refusal_for(exc)


def _to_and_data(raw: bytes) -> tuple[str, bytes]:
    """``to`` and ``data`` of a legacy or EIP-1559 transaction (others refused)."""
    try:
        if raw[:1] == b"\x02":
            fields = rlp.decode(raw[1:])
            to, data = fields[5], fields[7]
        elif raw[:1] >= b"\xc0":
            fields = rlp.decode(raw)
            to, data = fields[3], fields[5]
        else:
            raise refusals.BadRequest("only legacy and EIP-1559 transactions are relayed")
    except (rlp.DecodingError, IndexError, TypeError, ValueError) as exc:
        raise refusals.BadRequest("not a signed Ethereum transaction") from exc
    if not isinstance(to, bytes) or len(to) != 20 or not isinstance(data, bytes):
        raise refusals.BadRequest("not a contract call")
    return to_checksum_address(to), data


class Web3BreakGlass(BreakGlassChainAPI):
    """Break-glass through the gateway operator's chain client."""

    def __init__(self, client: ChainClient, *, receipt_timeout_s: float = 30.0) -> None:
        self._client = client
        self._timeout = receipt_timeout_s

    @property
    def _grants(self) -> Any:
        return self._client.contract("Grants")

    def _dry_run(self, fn: Any, sender: str) -> None:
        try:
            fn.call({"from": sender})
        except (ContractCustomError, ContractLogicError) as exc:
            failed = self._client.reverted(exc)
            if isinstance(failed, binding.TransactionFailed):
                raise _refusal(failed) from exc
            raise refusals.ChainUnavailable(str(failed)) from exc
        except (OSError, Web3RPCError) as exc:
            raise refusals.ChainUnavailable(f"chain RPC failed: {exc}") from exc

    def prepare(self, *, physician: PhysicianAddress, case: CaseId, grantor: HospitalAddress,
                reason_code: int, duration: int, max_uses: int) -> dict[str, object]:  # fmt: skip
        fn = self._grants.functions.breakGlass(
            bytes(case), grantor, WHOLE_CASE, reason_code, duration, max_uses
        )
        self._dry_run(fn, physician)
        w3 = self._client.w3
        try:
            tx = fn.build_transaction({
                "from": physician, "gas": BREAK_GLASS_GAS, "gasPrice": w3.eth.gas_price,
                "nonce": w3.eth.get_transaction_count(physician, "pending"),
                "chainId": self._client.chain_id,
            })  # fmt: skip
        except (OSError, Web3RPCError) as exc:
            raise refusals.ChainUnavailable(f"chain RPC failed: {exc}") from exc
        return {k: (v.hex() if isinstance(v, bytes) else v) for k, v in dict(tx).items()}

    def submit(self, *, physician: PhysicianAddress, raw_transaction: bytes) -> int:
        if len(raw_transaction) > MAX_RAW_TX_BYTES:
            raise refusals.BadRequest(f"a transaction is at most {MAX_RAW_TX_BYTES} bytes")
        to, data = _to_and_data(raw_transaction)
        try:
            sender = Account.recover_transaction(raw_transaction)
        except Exception as exc:  # eth-account raises several types for a bad signature
            raise refusals.BadRequest("the transaction's signature does not recover") from exc
        if sender.lower() != physician.lower():
            raise refusals.RedemptionUnsigned("the transaction is not signed by this physician")
        if to.lower() != self._grants.address.lower():
            raise refusals.BadRequest("the transaction is not a call of this Grants contract")
        try:
            fn, args = self._grants.decode_function_input(data)
        except Exception as exc:  # web3/eth-abi raise several types for undecodable input
            raise refusals.BadRequest("the transaction is not a Grants call") from exc
        if fn.fn_name != "breakGlass" or bytes(args["scopeRoot"]) != WHOLE_CASE:
            raise refusals.BadRequest("the transaction is not a whole-case breakGlass")
        call = self._grants.functions.breakGlass(*args.values())
        self._dry_run(call, physician)  # the precise refusal (429, 403) before it is sent
        w3 = self._client.w3
        try:
            tx_hash = w3.eth.send_raw_transaction(raw_transaction)
            receipt = w3.eth.wait_for_transaction_receipt(
                tx_hash, timeout=self._timeout, poll_latency=RECEIPT_POLL_S
            )
        except Web3RPCError as exc:
            if "not-permitted" in str(exc):  # the mempool's permissioning (ledger/permissions)
                raise refusals.PhysicianNotRegistered(
                    "the chain does not let this physician send transactions"
                ) from exc
            raise refusals.ChainUnavailable(f"the chain refused the transaction: {exc}") from exc
        except OSError as exc:
            raise refusals.ChainUnavailable(f"chain RPC failed: {exc}") from exc
        except (TimeoutError, TimeExhausted) as exc:
            raise refusals.ChainUnavailable("the break-glass is not final yet") from exc
        if receipt["status"] != 1:
            self._dry_run(call, physician)
            raise refusals.ChainUnavailable("the break-glass reverted on chain")
        events = self._grants.events.BreakGlassAccess().process_receipt(receipt)
        return int(events[0]["args"]["grantId"])

    def redeem(self, *, grant: GrantId, approval: PhysicianApproval) -> Redemption:
        signed = (approval.physician, approval.nonce, approval.deadline, approval.signature)
        fn = self._grants.functions.redeemBreakGlass(grant_number(grant), signed)
        try:
            tx_hash = self._client.send(fn, gas=REDEEM_GAS)
            succeeded, block = self._client.raw.wait(
                tx_hash, timeout_s=self._timeout, poll_s=RECEIPT_POLL_S
            )
        except binding.TransactionFailed as exc:
            raise _refusal(exc) from exc
        except binding.ChainError as exc:
            raise refusals.ChainUnavailable(f"the chain cannot be written: {exc}") from exc
        except TimeoutError as exc:
            raise refusals.ChainUnavailable("the redemption is not final yet") from exc
        if not succeeded:
            try:
                self._client.call(fn)
            except binding.TransactionFailed as exc:
                raise _refusal(exc) from exc
            raise refusals.ChainUnavailable("the redemption reverted on chain")
        return Redemption(grant_id=grant, physician=approval.physician,
                          tx_hash=bytes(tx_hash), block_number=block)  # fmt: skip
