"""Lean contract reads: one JSON-RPC round trip per read.

Every authenticated gateway request may read the chain (a grant's state after a
redemption, the head, its logs). Through web3's contract objects each ``eth_call`` also
costs two ``eth_chainId`` round trips (transaction defaults) and ~5 ms of Python
(middleware, formatters, ABI lookups), which a loaded validator and a 2-core machine turn
into tens of milliseconds per read (``bench/gateway.py``). Here a read is the call data
(the function's selector and ABI-encoded arguments, types resolved once per function), one
``eth_call`` posted through the web3 provider (its HTTP session, no middleware) and an
``eth_abi`` decode. Transactions are signed and sent by :class:`contracts.client.ChainClient`.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from eth_abi.abi import decode, encode
from eth_utils.abi import (
    function_abi_to_4byte_selector,
    get_abi_input_types,
    get_abi_output_types,
)
from web3 import Web3
from web3.exceptions import Web3RPCError
from web3.types import RPCEndpoint

from contracts.artifacts import load_artifact
from contracts.exceptions import ChainUnavailable
from contracts.typing import SuiteAddresses


@dataclass(frozen=True, slots=True)
class _Function:
    selector: bytes
    inputs: tuple[str, ...]
    outputs: tuple[str, ...]


class RawReader:
    """``eth_call``, ``eth_blockNumber`` and ``eth_getLogs`` without web3's per-call layers.

    Parameters
    ----------
    w3
        The client whose provider (HTTP session) is used.
    addresses
        The deployed suite.
    sender
        Reads are sent ``from`` this account when given (as a signing client's are).

    Every failure (no answer, an RPC error, an unreadable answer) is
    :class:`~contracts.exceptions.ChainUnavailable`: the suite's views never revert.
    """

    def __init__(self, w3: Web3, addresses: SuiteAddresses, *, sender: str | None = None) -> None:
        self.w3 = w3
        self.addresses = addresses
        self._sender = sender
        self._functions: dict[tuple[str, str], _Function] = {}

    def address(self, contract: str) -> str:
        """The deployed address of suite contract ``contract`` (checksummed)."""
        return Web3.to_checksum_address(getattr(self.addresses, contract.lower()))

    def _function(self, contract: str, name: str) -> _Function:
        key = (contract, name)
        found = self._functions.get(key)
        if found is None:
            abi = next(
                i
                for i in load_artifact(contract).abi
                if i["type"] == "function" and i["name"] == name
            )
            found = _Function(
                function_abi_to_4byte_selector(abi),  # type: ignore[arg-type]
                tuple(get_abi_input_types(abi)),  # type: ignore[arg-type]
                tuple(get_abi_output_types(abi)),  # type: ignore[arg-type]
            )
            self._functions[key] = found
        return found

    def _request(self, method: str, params: Sequence[Any]) -> Any:
        try:
            response = self.w3.provider.make_request(RPCEndpoint(method), params)
        except (OSError, Web3RPCError, ValueError) as exc:
            raise ChainUnavailable("the chain cannot be read") from exc
        if "error" in response or "result" not in response:
            raise ChainUnavailable(f"the chain refused a read ({method})")
        return response["result"]

    def call(self, contract: str, name: str, *args: Any) -> tuple[Any, ...]:
        """The decoded outputs of a view function at the latest (final) block."""
        fn = self._function(contract, name)
        data = fn.selector + encode(fn.inputs, args)
        tx: dict[str, str] = {"to": self.address(contract), "data": "0x" + data.hex()}
        if self._sender is not None:
            tx["from"] = self._sender
        result = self._request("eth_call", [tx, "latest"])
        try:
            return tuple(decode(fn.outputs, bytes.fromhex(str(result)[2:])))
        except Exception as exc:  # short or junk return data: not the contract we expect
            raise ChainUnavailable(f"unreadable answer from {contract}.{name}") from exc

    def block_number(self) -> int:
        """The chain head's number."""
        return int(str(self._request("eth_blockNumber", [])), 16)

    def logs(self, *, from_block: int, to_block: int, addresses: Sequence[str],
             topic0: Sequence[bytes] | None = None) -> list[dict[str, Any]]:  # fmt: skip
        """Raw logs of ``addresses`` in ``[from_block, to_block]`` (hex fields, as sent).

        ``topic0`` keeps only the events with one of these signatures.
        """
        params: dict[str, Any] = {"fromBlock": hex(from_block), "toBlock": hex(to_block),
                                  "address": list(addresses)}  # fmt: skip
        if topic0 is not None:
            params["topics"] = [["0x" + t.hex() for t in topic0]]
        result = self._request("eth_getLogs", [params])
        if not isinstance(result, list):
            raise ChainUnavailable("unreadable eth_getLogs answer")
        return result

    def receipt(self, tx_hash: bytes) -> tuple[bool, int] | None:
        """``(succeeded, block number)`` of a mined transaction, ``None`` while pending."""
        result = self._request("eth_getTransactionReceipt", ["0x" + bytes(tx_hash).hex()])
        if result is None:
            return None
        try:
            return int(str(result["status"]), 16) == 1, int(str(result["blockNumber"]), 16)
        except (KeyError, TypeError, ValueError) as exc:
            raise ChainUnavailable("unreadable transaction receipt") from exc

    def wait(self, tx_hash: bytes, *, timeout_s: float, poll_s: float) -> tuple[bool, int]:
        """:meth:`receipt`, polled every ``poll_s`` until mined.

        Raises :class:`TimeoutError` after ``timeout_s`` (the loop is bounded by it).
        """
        deadline = time.monotonic() + timeout_s
        while (found := self.receipt(tx_hash)) is None:
            if time.monotonic() >= deadline:
                raise TimeoutError(f"no receipt for 0x{bytes(tx_hash).hex()}")
            time.sleep(poll_s)
        return found
