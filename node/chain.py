"""The node's chain client: web3.py, contracts from the committed artifacts, local signing.

Transactions are signed with the hospital's signing key and sent raw, so no chain node ever
holds a hospital key. Nonces are kept locally (one lock, one counter) and seeded from the
chain's ``pending`` count at start and after any refusal, which is what makes them survive
a restart: the chain (including its mempool) is the record of what was sent. Finality: our
BFT chain finalizes with the block, so a receipt is final.

Reverts are decoded into :class:`~node.exceptions.ContractReverted` subclasses named after
the contract's custom error (``contracts.errors`` holds the selector registry).
"""

from __future__ import annotations

import threading
from typing import Any

from eth_account.signers.local import LocalAccount
from hexbytes import HexBytes
from web3 import Web3
from web3.contract import Contract
from web3.contract.contract import ContractFunction
from web3.exceptions import ContractCustomError, ContractLogicError, TimeExhausted, Web3RPCError
from web3.types import Nonce, TxParams, TxReceipt, Wei

from contracts.deploy import connect, contract_at
from contracts.tx import decoded_error
from node import exceptions as errors
from node.config import ContractAddresses
from node.typing import TxHash

#: Custom errors the node reacts to get their own class; the rest are ``ContractReverted``.
_ERROR_CLASSES: dict[str, type[errors.ContractReverted]] = {
    "BatchAlreadyAnchored": errors.BatchAlreadyAnchored,
    "NotActiveMember": errors.NotActiveMember,
}

RECEIPT_TIMEOUT_S = 60.0


def reverted(exc: BaseException) -> errors.ContractReverted:
    """The ``NodeError`` for a web3.py revert, named after the decoded custom error."""
    err = decoded_error(exc)
    name = err.name if err else None
    cls = _ERROR_CLASSES.get(name or "", errors.ContractReverted)
    return cls(f"reverted: {name or 'unknown error'}", error=name, args=err.args if err else ())


class ChainClient:
    """One hospital's view of the chain: contract bindings and signed transactions.

    Parameters
    ----------
    rpc_url
        Any node's JSON-RPC URL (ours or any Ethereum engine).
    account
        The hospital's signing account; ``None`` for a read-only client (``verify``).
    addresses
        The deployed suite (from the node config).
    """

    def __init__(
        self,
        *,
        rpc_url: str,
        addresses: ContractAddresses,
        account: LocalAccount | None = None,
        timeout_s: float = 30.0,
    ) -> None:
        self.w3: Web3 = connect(rpc_url, timeout_s=timeout_s)
        self.account = account
        self.addresses = addresses
        self._contracts: dict[str, Contract] = {}
        self._nonce: int | None = None
        self._lock = threading.Lock()
        self._chain_id: int | None = None

    def contract(self, name: str) -> Contract:
        """A bound suite contract (``Consortium``, ``Anchors``, ``Referrals``, ``Grants``)."""
        if name not in self._contracts:
            address = getattr(self.addresses, name.lower())
            self._contracts[name] = contract_at(self.w3, name, Web3.to_checksum_address(address))
        return self._contracts[name]

    def call(self, fn: ContractFunction) -> Any:
        """``eth_call`` on the latest (final) block, from the hospital's account if any.

        Reverts become ``ContractReverted`` subclasses (a dry run of a transaction names the
        custom error it would fail with, without sending anything).
        """
        try:
            if self.account is not None:
                return fn.call({"from": self.account.address})
            return fn.call()
        except (ContractCustomError, ContractLogicError) as exc:
            raise reverted(exc) from exc
        except (OSError, Web3RPCError) as exc:
            raise errors.ChainUnavailable(f"chain RPC failed: {exc}") from exc

    # --- sending ---------------------------------------------------------------------------

    def _next_nonce(self, account: LocalAccount) -> int:
        if self._nonce is None:
            self._nonce = self.w3.eth.get_transaction_count(account.address, "pending")
        return self._nonce

    def send(self, fn: ContractFunction, *, gas: int | None = None) -> TxHash:
        """Estimate (a rule violation surfaces here, decoded), sign, send; return the hash.

        Raises
        ------
        ContractReverted
            Or a subclass named after the custom error; nothing was sent.
        ChainUnavailable
            The RPC endpoint failed.
        """
        account = self.account
        if account is None:
            raise errors.ChainError("this chain client is read-only (no signing key)")
        with self._lock:
            for attempt in range(2):
                try:
                    if self._chain_id is None:
                        self._chain_id = self.w3.eth.chain_id
                    params: TxParams = {
                        "from": account.address,
                        "nonce": Nonce(self._next_nonce(account)),
                        "gasPrice": Wei(0),
                        "chainId": self._chain_id,
                    }
                    if gas is not None:
                        params["gas"] = gas
                    tx = fn.build_transaction(params)
                    signed = account.sign_transaction(tx)  # type: ignore[arg-type]
                    tx_hash = self.w3.eth.send_raw_transaction(signed.raw_transaction)
                except (ContractCustomError, ContractLogicError) as exc:
                    raise reverted(exc) from exc
                except Web3RPCError as exc:
                    self._nonce = None  # resync from the chain: a stale nonce is the usual cause
                    if attempt == 0 and "nonce" in str(exc).lower():
                        continue
                    raise errors.ChainError(f"transaction refused: {exc}") from exc
                except OSError as exc:
                    self._nonce = None
                    raise errors.ChainUnavailable(f"chain RPC failed: {exc}") from exc
                self._nonce = int(params["nonce"]) + 1
                return TxHash(bytes(tx_hash))
        raise errors.ChainError("transaction refused twice")  # pragma: no cover

    def wait(self, tx_hash: TxHash, *, timeout_s: float = RECEIPT_TIMEOUT_S) -> TxReceipt:
        """The (final) receipt; raises ``ContractReverted`` on status 0."""
        try:
            receipt = self.w3.eth.wait_for_transaction_receipt(
                HexBytes(tx_hash), timeout=timeout_s, poll_latency=0.02
            )
        except TimeExhausted as exc:
            raise errors.TransactionTimeout(f"no receipt for {tx_hash.hex()}") from exc
        except OSError as exc:
            raise errors.ChainUnavailable(f"chain RPC failed: {exc}") from exc
        if receipt["status"] != 1:
            raise errors.ContractReverted(f"transaction {tx_hash.hex()} reverted on chain")
        return receipt

    def transact(self, fn: ContractFunction, *, gas: int | None = None) -> TxReceipt:
        """Send and wait for the final receipt."""
        return self.wait(self.send(fn, gas=gas))
