"""Install a contract in a genesis by running its creation code once in py-evm.

A genesis ``alloc`` can only hold code and storage, not a constructor call. To give a chain
a contract whose constructor writes state (the ``Consortium`` with its founding members),
the genesis builder runs the creation transaction here, on a throw-away in-memory chain of
the same VM, from a keyless deployer at nonce 0, and copies the result into ``alloc``: the
runtime code, nonce 1 (EIP-161) and every storage slot the constructor wrote. The address
is the CREATE address of that deployer and nonce, so it is known before the run.

The copy is checked: the deployer and the alloc account rebuilt in a fresh genesis must give
exactly the state root the execution produced, or nothing is returned (a slot written outside
``set_storage`` would otherwise be lost silently).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import rlp
from eth.abc import StateAPI
from eth.db.atomic import AtomicDB
from eth.vm.forks.prague.state import PragueState
from eth.vm.spoof import SpoofTransaction
from eth_hash.auto import keccak
from eth_utils.address import to_checksum_address

from ledger.config import AllocAccount
from ledger.exceptions import ConfigError
from ledger.typing import Address
from ledger.vm import MedledgerVM, chain_class, header_defaults

#: Has no key: nobody can send from it, so nothing else can ever be created at its nonce 0.
GENESIS_DEPLOYER = Address(keccak(b"medledger/genesis-deployer/v1")[12:])
_BUILD_GAS = 1_000_000_000


def create_address(sender: Address, nonce: int) -> Address:
    """keccak(rlp([sender, nonce]))[12:], the address a CREATE yields."""
    return Address(keccak(rlp.encode([sender, nonce]))[12:])


@dataclass(frozen=True, slots=True)
class InstalledContract:
    """A contract ready for ``Genesis.alloc``: its checksum address and account."""

    address: str
    account: AllocAccount


class _RecordingState(PragueState):
    """Prague state that remembers which storage slots were written (SSTORE's path)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.written: set[tuple[bytes, int]] = set()

    def set_storage(self, address: Any, slot: int, value: int) -> None:
        self.written.add((bytes(address), slot))
        super().set_storage(address, slot, value)


_BuilderVM = MedledgerVM.configure(__name__="GenesisBuilderVM", _state_class=_RecordingState)


def _chain(chain_id: int, timestamp: int, state: dict[Address, Any]) -> Any:
    cls = chain_class(chain_id).configure(vm_configuration=((0, _BuilderVM),))
    params = {
        **header_defaults(),
        "gas_limit": _BUILD_GAS,
        "timestamp": timestamp,
        "extra_data": b"",
        "coinbase": b"\x00" * 20,
    }
    return cls.from_genesis(AtomicDB(), params, state)


def install_contract(
    *, chain_id: int, creation_code: bytes, timestamp: int = 0
) -> InstalledContract:
    """Run ``creation_code`` from :data:`GENESIS_DEPLOYER`; return the account to allocate.

    Raises
    ------
    ConfigError
        The constructor reverted or failed (its revert data is in the message), or the
        copied accounts do not reproduce the executed state root.
    """
    deployer = GENESIS_DEPLOYER
    address = create_address(deployer, 0)
    chain = _chain(chain_id, timestamp, {})
    vm = chain.get_vm()
    unsigned = vm.create_unsigned_transaction(
        nonce=0, gas_price=0, gas=_BUILD_GAS, to=b"", value=0, data=creation_code
    )
    state: StateAPI = vm.state
    receipt_computation = state.apply_transaction(SpoofTransaction(unsigned, from_=deployer))  # type: ignore[arg-type]
    if receipt_computation.is_error:
        raise ConfigError(
            f"the contract's constructor failed at genesis: {receipt_computation.error!r} "
            f"(output 0x{bytes(receipt_computation.output).hex()})"
        )
    assert isinstance(state, _RecordingState)
    storage = {
        slot: value
        for (owner, slot) in sorted(state.written)
        if owner == address and (value := state.get_storage(address, slot)) != 0
    }
    account = AllocAccount(
        nonce=state.get_nonce(address),
        code="0x" + bytes(state.get_code(address)).hex(),
        storage=storage,
    )
    state.persist()
    rebuilt = _chain(
        chain_id,
        timestamp,
        {
            deployer: {
                "balance": 0,
                "nonce": state.get_nonce(deployer),
                "code": b"",
                "storage": {},
            },
            address: {
                "balance": 0,
                "nonce": account.nonce,
                "code": state.get_code(address),
                "storage": storage,
            },
        },
    )
    if rebuilt.get_vm().state.state_root != state.state_root:
        raise ConfigError("installing the contract at genesis lost state (state roots differ)")
    return InstalledContract(address=to_checksum_address(address), account=account)
