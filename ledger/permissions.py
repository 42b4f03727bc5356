"""Who may send transactions: a fixed set from genesis, or the ``Consortium`` contract.

The contract-backed check calls ``isPermitted(address) returns (bool)`` on the head state,
so a member added or removed by a committed transaction takes effect from the next block,
on every node alike (the answer is a function of the chain state, not of local config).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from eth_abi.abi import decode, encode
from eth_abi.exceptions import DecodingError
from eth_hash.auto import keccak

from ledger.abc import PermissionsAPI
from ledger.exceptions import LedgerError
from ledger.typing import Address

IS_PERMITTED_SELECTOR = keccak(b"isPermitted(address)")[:4]

#: ``call(contract, calldata) -> (head block hash, output)`` on the current head state.
HeadCall = Callable[[Address, bytes], tuple[bytes, bytes]]
#: The current head block hash.
HeadHash = Callable[[], bytes]
_CACHE_LIMIT = 10_000


class StaticPermissions(PermissionsAPI):
    """A fixed set of permitted addresses (the genesis accounts and validators)."""

    def __init__(self, addresses: Iterable[Address]) -> None:
        self._addresses = frozenset(addresses)

    def is_permitted(self, address: Address) -> bool:
        return address in self._addresses


class ContractPermissions(PermissionsAPI):
    """Asks the ``Consortium`` contract on the head state; a failing call means "no".

    Refusing on error (a reverted or malformed answer) keeps a broken or missing contract
    from opening the chain to everyone. Each answer is cached with the head it was computed
    on and used only while that is still the head, so a block of many transactions from
    one sender costs one contract call, and a revocation applies from the next block.
    """

    def __init__(self, contract: Address, call: HeadCall, head_hash: HeadHash) -> None:
        self._contract = contract
        self._call = call
        self._head_hash = head_hash
        self._cache: dict[Address, tuple[bytes, bool]] = {}

    def is_permitted(self, address: Address) -> bool:
        cached = self._cache.get(address)
        if cached is not None and cached[0] == self._head_hash():
            return cached[1]
        calldata = IS_PERMITTED_SELECTOR + encode(["address"], [address])
        try:
            head, output = self._call(self._contract, calldata)
            (answer,) = decode(["bool"], output)
            permitted = bool(answer)
        except (LedgerError, DecodingError):
            return False
        if len(self._cache) >= _CACHE_LIMIT:
            self._cache = {}
        self._cache[address] = (head, permitted)
        return permitted
