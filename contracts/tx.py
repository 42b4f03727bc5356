"""Send contract transactions with a local key and surface reverts as decoded custom errors.

Works against any Ethereum JSON-RPC engine (our chain, anvil): legacy transactions priced at
the node's ``eth_gasPrice`` (zero on our chain), signed locally, gas from ``eth_estimateGas``
(which is also where a rule violation shows up, as revert data, before anything is sent).
"""

from __future__ import annotations

import weakref
from typing import Any

from eth_account.signers.local import LocalAccount
from hexbytes import HexBytes
from web3 import Web3
from web3.contract.contract import ContractConstructor, ContractFunction
from web3.exceptions import ContractCustomError, ContractLogicError
from web3.types import Nonce, TxParams, TxReceipt, Wei

from contracts.errors import DecodedError, decode_revert
from contracts.exceptions import TransactionFailed

#: How long to wait for a receipt before giving up (our chain commits in about a second).
RECEIPT_TIMEOUT_S = 60.0


def revert_data(exc: BaseException) -> bytes:
    """The raw revert data web3.py attached to a contract error, or ``b""``."""
    data: Any = getattr(exc, "data", None)
    if isinstance(data, dict):
        data = data.get("data")
    if isinstance(data, str) and data.startswith("0x"):
        try:
            return bytes.fromhex(data[2:])
        except ValueError:
            return b""
    if isinstance(data, bytes | bytearray):
        return bytes(data)
    return b""


def decoded_error(exc: BaseException) -> DecodedError | None:
    """The custom error carried by a web3.py contract exception, if any."""
    return decode_revert(revert_data(exc))


_CHAIN_IDS: weakref.WeakKeyDictionary[Web3, int] = weakref.WeakKeyDictionary()


def _chain_id(w3: Web3) -> int:
    """The chain id, asked once per client (it never changes for a chain)."""
    if w3 not in _CHAIN_IDS:
        _CHAIN_IDS[w3] = w3.eth.chain_id
    return _CHAIN_IDS[w3]


def submit(
    w3: Web3,
    account: LocalAccount,
    call: ContractFunction | ContractConstructor,
    *,
    gas: int | None = None,
    nonce: int | None = None,
    gas_price: int | None = None,
) -> HexBytes:
    """Sign and send a contract call or deployment without waiting; return the tx hash.

    With ``gas`` given nothing is estimated (a violation then shows as a mined status-0
    receipt instead of an estimation error). ``nonce`` lets a caller queue several
    transactions from one account before any is mined; ``gas_price`` spares the
    ``eth_gasPrice`` round trip to a caller that knows it (zero on our chain).

    Raises
    ------
    TransactionFailed
        Gas estimation reverts; carries the decoded custom error when there is one.
    """
    params: TxParams = {
        "from": account.address,
        "nonce": Nonce(
            nonce if nonce is not None else w3.eth.get_transaction_count(account.address, "pending")
        ),
        "gasPrice": Wei(gas_price) if gas_price is not None else w3.eth.gas_price,
        "chainId": _chain_id(w3),
    }
    if gas is not None:
        params["gas"] = gas
    try:
        tx = call.build_transaction(params)
    except (ContractCustomError, ContractLogicError) as exc:
        err = decoded_error(exc)
        name = err.name if err else None
        raise TransactionFailed(
            f"reverted: {name or exc}", error=name, args=err.args if err else ()
        ) from exc
    signed = account.sign_transaction(tx)  # type: ignore[arg-type]
    return HexBytes(w3.eth.send_raw_transaction(signed.raw_transaction))


def wait(w3: Web3, tx_hash: HexBytes) -> TxReceipt:
    """The receipt of a sent transaction; raises ``TransactionFailed`` on status 0."""
    receipt = w3.eth.wait_for_transaction_receipt(
        tx_hash, timeout=RECEIPT_TIMEOUT_S, poll_latency=0.02
    )
    if receipt["status"] != 1:
        raise TransactionFailed(f"transaction {tx_hash.to_0x_hex()} reverted on chain")
    return receipt


def send(
    w3: Web3,
    account: LocalAccount,
    call: ContractFunction | ContractConstructor,
    *,
    gas: int | None = None,
) -> TxReceipt:
    """Sign, send and wait for a contract call or deployment; return the receipt.

    Raises
    ------
    TransactionFailed
        The call reverts (during gas estimation, with the decoded custom error when there is
        one) or the mined transaction has status 0.
    """
    return wait(w3, submit(w3, account, call, gas=gas))
