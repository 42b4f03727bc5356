"""``consortium set-validator``: flag an admitted member as validator, or unflag it, by vote.

The change counts from the block after the vote (``ledger.validator_sets``). Flagging on
also gives the member's ``ledger.json`` a p2p section listing the validators in force, so
its ledger, started on it, joins them (they dial it back once the chain counts it);
flagging off drops it from every validator's links at that height: its ledger is cut
off, so its ``node.json`` is pointed at a remaining validator's JSON-RPC, as a member that
never validated has it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from eth_utils.address import to_checksum_address

from keys.keyfiles import DEFAULT_PBKDF2_ITERATIONS, DEFAULT_SCRYPT_N
from keys.passphrase import read_passphrase
from medledger.consortium.admission import set_validator_flag
from medledger.consortium.candidate import save_manifest
from medledger.consortium.chain import Suite, client, open_suite, unlock
from medledger.consortium.cli_chain import DirOpt, RpcOpt
from medledger.consortium.cli_common import (
    JsonFlag,
    Pbkdf2,
    ScryptN,
    clean_errors,
    emit,
    vote_echo,
)
from medledger.consortium.exceptions import AdmissionError
from medledger.consortium.hospital import Kdf
from medledger.consortium.manifest import HospitalEntry, Manifest, load_manifest
from medledger.consortium.rotation import rotate_validator_key
from medledger.consortium.validators import (
    consensus_timeouts,
    current_validators,
    enable_p2p,
    peer_of,
    use_validator_rpc,
)


def _active_member(
    directory: Path, member: str, rpc: str | None
) -> tuple[Manifest, HospitalEntry, Suite]:
    """The manifest, ``member``'s entry and the suite on chain; refused unless it is active."""
    manifest = load_manifest(directory)
    entry = manifest.hospital(member)
    suite = open_suite(client(rpc or manifest.hospitals[0].rpc_url), manifest)
    if not suite.reads.is_active_member(entry.signing_address):
        raise AdmissionError(f"{member} is not an active member")
    return manifest, entry, suite


def set_validator(
    directory: DirOpt,
    member: Annotated[str, typer.Option(help="The member's slug (as in consortium.json).")],
    on: Annotated[
        bool, typer.Option("--on/--off", help="Make it a validator (--on) or stop (--off).")
    ] = True,
    rpc: RpcOpt = None,
    as_json: JsonFlag = False,
) -> None:
    """Vote a member's validator flag on or off (the first active member proposes)."""
    with clean_errors():
        manifest, entry, suite = _active_member(directory, member, rpc)
        members = [h for h in manifest.hospitals if h.status != "candidate"]
        running = current_validators(members, suite.reads.validators())
        address = to_checksum_address(entry.signing_address)
        if (entry.slug in {v.slug for v in running}) == on:
            raise AdmissionError(f"{member} is {'already' if on else 'not'} a validator")
        if not on and len(running) == 1:
            raise AdmissionError(f"{member} is the only validator; flag another one first")
        timeouts = consensus_timeouts(directory, running)  # checked before any vote
        active = [h for h in members if suite.reads.is_active_member(h.signing_address)]
        secret = read_passphrase()
        accounts = [unlock(directory, h, secret) for h in active]
        if not as_json:
            typer.echo(f"validator flag of {member} ({address}) -> {on}; voting:")
        tally = set_validator_flag(
            suite.consortium,
            suite.reads,
            member=address,
            validator=on,
            proposer=accounts[0],
            voters=accounts[1:],
            on_step=vote_echo(as_json),
        )
        if tally.executed:
            update: dict[str, object] = {"validator": on}
            if on:
                peers = [peer_of(v) for v in running]
                enable_p2p(directory, manifest, entry, validators=peers, timeouts=timeouts)
            else:
                rpc_url = next(v.rpc_url for v in running if v.slug != member)
                use_validator_rpc(directory, entry, rpc_url)
                update["rpc_url"] = rpc_url
            updated = entry.model_copy(update=update)
            hospitals = [updated if h.slug == member else h for h in manifest.hospitals]
            save_manifest(directory, manifest.model_copy(update={"hospitals": hospitals}))
    outcome = "carried" if tally.executed else "not carried (votes missing)"
    lines = [f"proposal {tally.proposal_id}: {outcome}"]
    if tally.executed:
        lines.append(f"{member} {'validates' if on else 'stops validating'} after that block")
    data = {"member": member, "address": address, "validator": on, **tally.as_dict()}
    emit(data, as_json, lines)
    if not tally.executed:
        raise typer.Exit(1)


def rotate_validator_key_cmd(
    directory: DirOpt,
    member: Annotated[str, typer.Option(help="The member's slug (as in consortium.json).")],
    rpc: RpcOpt = None,
    scrypt_n: ScryptN = DEFAULT_SCRYPT_N,
    pbkdf2_iterations: Pbkdf2 = DEFAULT_PBKDF2_ITERATIONS,
    as_json: JsonFlag = False,
) -> None:
    """Replace a member's validator key (new validator/validator.json); no vote needed.

    The member's own account signs the rotation. The chain counts the new key from the
    next block; restart that hospital's ledger to sign with it.
    """
    with clean_errors():
        manifest, entry, suite = _active_member(directory, member, rpc)
        secret = read_passphrase()
        account = unlock(directory, entry, secret)
        updated, address = rotate_validator_key(
            directory,
            manifest,
            entry,
            contract=suite.consortium,
            member=account,
            passphrase=secret,
            kdf=Kdf(scrypt_n=scrypt_n, pbkdf2_iterations=pbkdf2_iterations),
        )
        save_manifest(directory, updated)
    data = {"member": member, "old": entry.validator_address, "validator_address": address}
    lines = [
        f"{member}: validator key {entry.validator_address} -> {address}",
        "restart its ledger to sign with the new key (the chain counts it from the next block)",
    ]
    emit(data, as_json, lines)
