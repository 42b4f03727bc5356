"""The suite's transaction client: web3.py, contracts from the committed artifacts, local signing.

Transactions are signed with a local account and sent raw, so no chain node ever holds a
hospital key. Nonces are kept locally (one lock, one counter) and seeded from the chain's
``pending`` count at start and after any refusal, which is what makes them survive a
restart: the chain (including its mempool) is the record of what was sent. Finality: our
BFT chain finalizes with the block, so a receipt is final.

Reverts are decoded into the custom error's name (:mod:`contracts.errors`) and raised as
:attr:`ChainClient.reverted_error`. A package that must raise its own root's errors
subclasses the client and names its classes (``node.chain.ChainClient``); nothing else
changes.
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
from web3.types import TxReceipt

from contracts import exceptions as errors
from contracts.deploy import connect, contract_at
from contracts.reads import SuiteReads
from contracts.rpc import RawReader
from contracts.tx import decoded_error, submit
from contracts.typing import SuiteAddresses

RECEIPT_TIMEOUT_S = 60.0


class ChainClient:
    """One account's view of the chain: contract bindings, typed reads, signed transactions.

    Parameters
    ----------
    rpc_url
        Any node's JSON-RPC URL (ours or any Ethereum engine).
    addresses
        The deployed suite.
    account
        The signing account; ``None`` for a read-only client.
    """

    #: What each failure is raised as (subclasses name their own package's classes).
    unavailable_error: type[Exception] = errors.ChainUnavailable
    refused_error: type[Exception] = errors.TransactionRefused
    timeout_error: type[Exception] = errors.TransactionTimeout

    def __init__(
        self,
        *,
        rpc_url: str,
        addresses: SuiteAddresses,
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
        sender = account.address if account is not None else None
        #: Raw reads (one round trip each) and the typed views built on them.
        self.raw = RawReader(self.w3, addresses, sender=sender)
        self.reads = SuiteReads(self.raw)

    def reverted_error(
        self, message: str, *, error: str | None = None, args: tuple[object, ...] = ()
    ) -> Exception:
        """The exception a revert (naming custom error ``error`` if decoded) is raised as."""
        return errors.TransactionFailed(message, error=error, args=args)

    def reverted(self, exc: BaseException) -> Exception:
        """The exception for a web3.py revert, named after the decoded custom error."""
        err = decoded_error(exc)
        name = err.name if err else None
        return self.reverted_error(
            f"reverted: {name or 'unknown error'}", error=name, args=err.args if err else ()
        )

    def contract(self, name: str) -> Contract:
        """A bound suite contract (``Consortium``, ``Anchors``, ``Referrals``, ``Grants``)."""
        if name not in self._contracts:
            address = getattr(self.addresses, name.lower())
            self._contracts[name] = contract_at(self.w3, name, Web3.to_checksum_address(address))
        return self._contracts[name]

    @property
    def chain_id(self) -> int:
        """The chain id, asked once (it never changes for a chain)."""
        if self._chain_id is None:
            try:
                self._chain_id = int(self.w3.eth.chain_id)
            except (OSError, Web3RPCError) as exc:
                raise self.unavailable_error(f"chain RPC failed: {exc}") from exc
        return self._chain_id

    def call(self, fn: ContractFunction) -> Any:
        """``eth_call`` on the latest (final) block, from the client's account if any.

        Reverts become :meth:`reverted_error` (a dry run of a transaction names the custom
        error it would fail with, without sending anything).
        """
        try:
            if self.account is not None:
                return fn.call({"from": self.account.address})
            return fn.call()
        except (ContractCustomError, ContractLogicError) as exc:
            raise self.reverted(exc) from exc
        except (OSError, Web3RPCError) as exc:
            raise self.unavailable_error(f"chain RPC failed: {exc}") from exc

    def _next_nonce(self, account: LocalAccount) -> int:
        if self._nonce is None:
            self._nonce = self.w3.eth.get_transaction_count(account.address, "pending")
        return self._nonce

    def send(self, fn: ContractFunction, *, gas: int | None = None) -> bytes:
        """Estimate (a rule violation surfaces here, decoded), sign, send; return the hash.

        With ``gas`` given nothing is estimated (a violation then shows as a mined status-0
        receipt instead).

        Raises
        ------
        reverted_error
            The custom error the call fails with; nothing was sent.
        refused_error
            A read-only client, or the chain refused the transaction twice.
        unavailable_error
            The RPC endpoint failed.
        """
        account = self.account
        if account is None:
            raise self.refused_error("this chain client is read-only (no signing key)")
        with self._lock:
            for attempt in range(2):
                try:
                    nonce = self._next_nonce(account)
                    tx_hash = submit(self.w3, account, fn, gas=gas, nonce=nonce, gas_price=0)
                except errors.TransactionFailed as exc:  # decoded by ``submit``, nothing sent
                    message = f"reverted: {exc.error or 'unknown error'}"
                    raise self.reverted_error(
                        message, error=exc.error, args=exc.error_args
                    ) from exc.__cause__
                except Web3RPCError as exc:
                    self._nonce = None  # resync from the chain: a stale nonce is the usual cause
                    if attempt == 0 and "nonce" in str(exc).lower():
                        continue
                    raise self.refused_error(f"transaction refused: {exc}") from exc
                except OSError as exc:
                    self._nonce = None
                    raise self.unavailable_error(f"chain RPC failed: {exc}") from exc
                self._nonce = nonce + 1
                return bytes(tx_hash)
        raise self.refused_error("transaction refused twice")  # pragma: no cover

    def wait(self, tx_hash: bytes, *, timeout_s: float = RECEIPT_TIMEOUT_S) -> TxReceipt:
        """The (final) receipt; raises :meth:`reverted_error` (undecoded) on status 0."""
        try:
            receipt = self.w3.eth.wait_for_transaction_receipt(
                HexBytes(tx_hash), timeout=timeout_s, poll_latency=0.02
            )
        except TimeExhausted as exc:
            raise self.timeout_error(f"no receipt for {tx_hash.hex()}") from exc
        except OSError as exc:
            raise self.unavailable_error(f"chain RPC failed: {exc}") from exc
        if receipt["status"] != 1:
            raise self.reverted_error(f"transaction {tx_hash.hex()} reverted on chain")
        return receipt

    def transact(self, fn: ContractFunction, *, gas: int | None = None) -> TxReceipt:
        """Send and wait for the final receipt."""
        return self.wait(self.send(fn, gas=gas))
