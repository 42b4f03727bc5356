"""``medledger consortium staff …``: a hospital manages its own physicians and operators.

Every write is signed with the hospital's own signing keystore (the passphrase from
``MEDLEDGER_PASSPHRASE`` or a prompt, as for the other consortium commands). A reverted
call exits 4 and names the contract's custom error; bad input exits 2, a keystore or
passphrase problem 3.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from web3 import Web3

from keys.passphrase import read_passphrase
from medledger.consortium.chain import Suite, client, open_suite, unlock
from medledger.consortium.cli_chain import DirOpt, RpcOpt
from medledger.consortium.cli_common import JsonFlag, clean_errors, emit
from medledger.consortium.exceptions import StaffInputError
from medledger.consortium.manifest import HospitalEntry, load_manifest
from medledger.consortium.staff import (
    licence_hash,
    list_staff,
    parse_role,
    register,
    reinstate,
    row,
    suspend,
)

app = typer.Typer(
    name="staff",
    help="A hospital's own staff in the Consortium contract (physicians, gateway operators).",
    no_args_is_help=True,
    add_completion=False,
)

HospitalOpt = Annotated[
    str, typer.Option("--hospital", help="Slug of the hospital acting (its keystore signs).")
]
AddressArg = Annotated[str, typer.Argument(help="The staff member's 0x account address.")]


def _suite(directory: Path, slug: str, rpc: str | None) -> tuple[Suite, HospitalEntry]:
    manifest = load_manifest(directory)
    entry = manifest.hospital(slug)
    return open_suite(client(rpc or entry.rpc_url), manifest), entry


def _address(value: str) -> str:
    """Checked before any key is unlocked or the chain is asked."""
    if not Web3.is_address(value):
        raise StaffInputError(f"{value!r} is not an account address (0x and 40 hex digits)")
    return Web3.to_checksum_address(value)


def _digest(licence: str | None, licence_hex: str | None) -> tuple[bytes, str | None]:
    if licence is not None and licence_hex is not None:
        raise StaffInputError("give --licence or --licence-hash, not both")
    if licence is not None:
        digest, salt = licence_hash(licence)
        return digest, "0x" + salt.hex()
    if licence_hex is not None:
        raw = bytes.fromhex(licence_hex.removeprefix("0x"))  # ValueError: exit 2
        if len(raw) != 32:
            raise StaffInputError("--licence-hash must be 32 bytes (64 hex digits)")
        return raw, None
    return b"\x00" * 32, None


@app.command("register")
def register_cmd(
    address: AddressArg,
    directory: DirOpt,
    hospital: HospitalOpt,
    role: Annotated[str, typer.Option(help="physician or operator (gateway operator).")],
    licence: Annotated[
        str | None,
        typer.Option(help="Licence number; hashed with a fresh salt, only the hash on chain."),
    ] = None,
    licence_hex: Annotated[
        str | None,
        typer.Option("--licence-hash", help="A salted licence hash you computed (32 bytes hex)."),
    ] = None,
    rpc: RpcOpt = None,
    as_json: JsonFlag = False,
) -> None:
    """Register ADDRESS as a physician (licence required) or gateway operator of HOSPITAL."""
    with clean_errors():
        address = _address(address)
        kind = parse_role(role)
        digest, salt = _digest(licence, licence_hex)
        if kind.name == "PHYSICIAN" and not any(digest):
            raise StaffInputError("a physician needs --licence or --licence-hash")
        suite, entry = _suite(directory, hospital, rpc)
        account = unlock(directory, entry, read_passphrase())
        tx = register(
            suite.consortium, hospital=account, account=address, role=kind, licence_digest=digest
        )
        staff = row(suite.reads, address)
    data = {"hospital": entry.slug, "transaction": tx, "salt": salt, **staff.as_dict()}
    lines = [f"{entry.slug}: registered {staff.account} as {staff.role} (tx {tx})"]
    if salt:
        lines.append(f"  licence hash {staff.licence_hash}; keep the salt {salt} to prove it")
    emit(data, as_json, lines)


def _change(verb: str, address: str, directory: Path, hospital: str, rpc: str | None,
            as_json: bool) -> None:  # fmt: skip
    with clean_errors():
        address = _address(address)
        suite, entry = _suite(directory, hospital, rpc)
        account = unlock(directory, entry, read_passphrase())
        action = suspend if verb == "suspended" else reinstate
        tx = action(suite.consortium, hospital=account, account=address)
        staff = row(suite.reads, address)
    data = {"hospital": entry.slug, "transaction": tx, **staff.as_dict()}
    emit(data, as_json, [f"{entry.slug}: {verb} {staff.account} (now {staff.status}, tx {tx})"])


@app.command("suspend")
def suspend_cmd(address: AddressArg, directory: DirOpt, hospital: HospitalOpt,
                rpc: RpcOpt = None, as_json: JsonFlag = False) -> None:  # fmt: skip
    """Suspend an active staff member of HOSPITAL (the chain refuses its transactions)."""
    _change("suspended", address, directory, hospital, rpc, as_json)


@app.command("reinstate")
def reinstate_cmd(address: AddressArg, directory: DirOpt, hospital: HospitalOpt,
                  rpc: RpcOpt = None, as_json: JsonFlag = False) -> None:  # fmt: skip
    """Reinstate a suspended staff member of HOSPITAL."""
    _change("reinstated", address, directory, hospital, rpc, as_json)


@app.command("list")
def list_cmd(directory: DirOpt, hospital: HospitalOpt, rpc: RpcOpt = None,
             as_json: JsonFlag = False) -> None:  # fmt: skip
    """Every account HOSPITAL registered, with role and status (read-only, no passphrase)."""
    with clean_errors():
        suite, entry = _suite(directory, hospital, rpc)
        rows = list_staff(suite.consortium, suite.reads, hospital=entry.signing_address)
    emit(
        {"hospital": entry.slug, "staff": [r.as_dict() for r in rows]},
        as_json,
        [f"{entry.slug}: {len(rows)} staff"]
        + [f"  {r.account}  {r.role:<9} {r.status}" for r in rows],
    )
