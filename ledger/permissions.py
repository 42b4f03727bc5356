"""Who may send transactions: a fixed set from genesis, or the ``Consortium`` contract.

The contract-backed check calls ``isPermitted(address) returns (bool)`` on the head state,
so a member added or removed by a committed transaction takes effect from the next block,
on every node alike (the answer is a function of the chain state, not of local config).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from eth_abi.abi import decode, encode
from eth_hash.auto import keccak

from ledger.abc import PermissionsAPI
from ledger.typing import Address

IS_PERMITTED_SELECTOR = keccak(b"isPermitted(address)")[:4]

#: ``call(contract, calldata) -> output`` on the current head state.
HeadCall = Callable[[Address, bytes], bytes]


class StaticPermissions(PermissionsAPI):
    """A fixed set of permitted addresses (the genesis accounts and validators)."""

    def __init__(self, addresses: Iterable[Address]) -> None:
        self._addresses = frozenset(addresses)

    def is_permitted(self, address: Address) -> bool:
        return address in self._addresses


class ContractPermissions(PermissionsAPI):
    """Asks the ``Consortium`` contract on the head state; a failing call means "no".

    Refusing on error (a reverted or malformed answer) keeps a broken or missing contract
    from opening the chain to everyone.
    """

    def __init__(self, contract: Address, call: HeadCall) -> None:
        self._contract = contract
        self._call = call

    def is_permitted(self, address: Address) -> bool:
        calldata = IS_PERMITTED_SELECTOR + encode(["address"], [address])
        try:
            output = self._call(self._contract, calldata)
            (permitted,) = decode(["bool"], output)
        except Exception:
            return False
        return bool(permitted)
