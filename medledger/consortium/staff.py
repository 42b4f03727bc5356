"""A hospital's own staff in the ``Consortium`` contract: register, suspend, reinstate, list.

Each hospital manages only its staff, signing with its own member account; the contract
refuses anything else (``NotYourStaff``). A physician's licence goes on chain only as a
salted hash (:func:`licence_hash`), never a name or the licence number itself.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from pathlib import Path

from eth_account.signers.local import LocalAccount
from web3 import Web3
from web3.contract import Contract
from web3.contract.contract import ContractFunction
from web3.exceptions import Web3Exception
from web3.types import TxReceipt

from contracts.exceptions import ContractsError, TransactionFailed
from contracts.reads import SuiteReads
from contracts.tx import send
from contracts.typing import Role
from medledger.consortium.chain import suite_reads, unlock
from medledger.consortium.exceptions import StaffError, StaffInputError
from medledger.consortium.manifest import Manifest

#: Roles ``registerStaff`` accepts, by their CLI names.
ROLES = {"physician": Role.PHYSICIAN, "operator": Role.OPERATOR}
SALT_BYTES = 16


@dataclass(frozen=True, slots=True)
class StaffRow:
    """One registered account as the contract reports it (public consortium data only)."""

    account: str
    role: str
    status: str
    licence_hash: str

    def as_dict(self) -> dict[str, str]:
        return {
            "account": self.account,
            "role": self.role,
            "status": self.status,
            "licence_hash": self.licence_hash,
        }


def licence_hash(licence: str, *, salt: bytes | None = None) -> tuple[bytes, bytes]:
    """SHA-256 of ``salt || licence``; returns ``(hash, salt)``.

    The salt (random unless given) stops anyone from confirming a guessed licence number
    against the chain; the hospital keeps it to prove the link later.
    """
    if not licence.strip():
        raise StaffInputError("the licence number is empty")
    salt = secrets.token_bytes(SALT_BYTES) if salt is None else salt
    return hashlib.sha256(salt + licence.strip().encode()).digest(), salt


def parse_role(name: str) -> Role:
    try:
        return ROLES[name.lower()]
    except KeyError:
        raise StaffInputError(f"unknown role {name!r}: choose {' or '.join(ROLES)}") from None


def _send(w3: Web3, hospital: LocalAccount, call: ContractFunction, step: str) -> TxReceipt:
    try:
        return send(w3, hospital, call)
    except TransactionFailed as exc:
        detail = exc.error or str(exc)
        if exc.error_args:
            detail += "(" + ", ".join(str(a) for a in exc.error_args) + ")"
        raise StaffError(f"{step} refused by the contract: {detail}") from None
    except (ContractsError, Web3Exception) as exc:
        raise StaffError(f"{step} failed: {exc}") from None


def register(
    contract: Contract,
    *,
    hospital: LocalAccount,
    account: str,
    role: Role,
    licence_digest: bytes = b"\x00" * 32,
) -> str:
    """Register ``account`` as ``role`` of ``hospital``; return the transaction hash."""
    call = contract.functions.registerStaff(
        Web3.to_checksum_address(account), int(role), licence_digest
    )
    receipt = _send(contract.w3, hospital, call, "registerStaff")
    return receipt["transactionHash"].to_0x_hex()


def suspend(contract: Contract, *, hospital: LocalAccount, account: str) -> str:
    call = contract.functions.suspendStaff(Web3.to_checksum_address(account))
    return _send(contract.w3, hospital, call, "suspendStaff")["transactionHash"].to_0x_hex()


def reinstate(contract: Contract, *, hospital: LocalAccount, account: str) -> str:
    call = contract.functions.reinstateStaff(Web3.to_checksum_address(account))
    return _send(contract.w3, hospital, call, "reinstateStaff")["transactionHash"].to_0x_hex()


def row(reads: SuiteReads, account: str) -> StaffRow:
    """The contract's record of ``account`` (``Consortium.getStaff``)."""
    try:
        staff = reads.staff(account)
    except ContractsError as exc:
        raise StaffError(f"reading the staff failed: {exc}") from None
    return StaffRow(
        account=Web3.to_checksum_address(account),
        role=staff.role.name.lower(),
        status=staff.status.name.lower(),
        licence_hash="0x" + staff.licence_hash.hex(),
    )


def list_staff(contract: Contract, reads: SuiteReads, *, hospital: str) -> list[StaffRow]:
    """Every account ``hospital`` ever registered (from its ``StaffRegistered`` events)."""
    try:
        logs = contract.events.StaffRegistered().get_logs(
            from_block=0, argument_filters={"hospital": Web3.to_checksum_address(hospital)}
        )
        accounts = dict.fromkeys(str(log["args"]["account"]) for log in logs)
        return [row(reads, a) for a in accounts]
    except Web3Exception as exc:
        raise StaffError(f"reading the staff failed: {exc}") from None


def register_operators(
    contract: Contract, *, directory: Path, manifest: Manifest, passphrase: str
) -> list[str]:
    """Each active hospital registers its gateway operator (``init`` wrote its keystore).

    Idempotent, like ``deploy`` which calls it: an operator already registered by its
    hospital is left alone, so re-running (the compose ``consortium-deploy`` service runs
    on every ``up``) sends nothing. Returns the slugs whose operator was registered now.
    """
    reads = suite_reads(contract.w3, manifest)
    done = []
    for entry in manifest.hospitals:
        if not entry.operator_address:
            continue  # a consortium written before operators had keystores
        if reads.staff(entry.operator_address).hospital == entry.signing_address:
            continue
        if not reads.is_active_member(entry.signing_address):
            continue  # a candidate registers its operator once admitted (next deploy)
        account = unlock(directory, entry, passphrase)
        register(contract, hospital=account, account=entry.operator_address, role=Role.OPERATOR)
        done.append(entry.slug)
    return done
