"""``consortium deploy`` and ``consortium add-member``: the on-chain side of a consortium."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from keys.keyfiles import DEFAULT_PBKDF2_ITERATIONS, DEFAULT_SCRYPT_N
from keys.passphrase import read_passphrase
from ledger.p2p.config import PeerSettings, TimeoutSettings
from medledger.consortium.admission import admit
from medledger.consortium.backup import backup_hospital
from medledger.consortium.candidate import create_candidate, plan_candidate, save_manifest
from medledger.consortium.chain import client, deploy, open_suite, unlock
from medledger.consortium.cli_common import JsonFlag, Pbkdf2, ScryptN, clean_errors, emit, vote_echo
from medledger.consortium.exceptions import AdmissionError
from medledger.consortium.hospital import Kdf
from medledger.consortium.manifest import load_manifest
from medledger.consortium.staff import register_operators
from medledger.consortium.validators import consensus_timeouts, current_validators, peer_of

DirOpt = Annotated[Path, typer.Option("--dir", help="The consortium directory (init --out).")]
RpcOpt = Annotated[
    str | None, typer.Option("--rpc", help="JSON-RPC URL (default: the first hospital's).")
]


def deploy_cmd(directory: DirOpt, rpc: RpcOpt = None, as_json: JsonFlag = False) -> None:
    """Deploy the contracts, then each hospital registers its gateway operator (idempotent).

    Anchors, Referrals and Grants go around the genesis Consortium.
    """
    with clean_errors():
        manifest = load_manifest(directory)
        first = manifest.hospitals[0]
        w3 = client(rpc or first.rpc_url)
        secret = read_passphrase()
        addresses, deployed = deploy(w3, manifest, unlock(directory, first, secret))
        operators = register_operators(
            open_suite(w3, manifest).consortium,
            directory=directory,
            manifest=manifest,
            passphrase=secret,
        )
    verb = "deployed" if deployed else "already deployed"
    emit(
        {"deployed": deployed, "contracts": addresses, "operators_registered": operators},
        as_json,
        [f"contracts {verb}:"]
        + [f"  {k:<10} {v}" for k, v in addresses.items()]
        + [f"gateway operators registered: {', '.join(operators) or 'none needed'}"],
    )


def add_member(
    directory: DirOpt,
    tier: Annotated[str, typer.Option(help="village, township, county or tertiary.")],
    name: Annotated[str | None, typer.Option(help="Display name (public, on chain).")] = None,
    validator: Annotated[
        bool,
        typer.Option(
            "--validator/--no-validator",
            help="Admit it as a validator: it seals blocks from the block after the vote; "
            "its ledger.json lists the validators in force as p2p peers.",
        ),
    ] = False,
    rpc: RpcOpt = None,
    scrypt_n: ScryptN = DEFAULT_SCRYPT_N,
    pbkdf2_iterations: Pbkdf2 = DEFAULT_PBKDF2_ITERATIONS,
    as_json: JsonFlag = False,
) -> None:
    """Create a candidate hospital's keys and configs, then walk its admission vote.

    The first active member proposes; the others vote in manifest order until the
    threshold carries. All keystores of a local consortium share one passphrase. With
    ``--validator`` the running validators need no change: they dial the newcomer back
    once the chain counts it (at the endpoint its hello announces).
    """
    lines: list[str] = []

    with clean_errors():
        manifest = load_manifest(directory)
        members = [h for h in manifest.hospitals if h.status != "candidate"]
        if validator:  # a consortium founded with one validator cannot take a second
            consensus_timeouts(directory, [h for h in members if h.validator])
        secret = read_passphrase()
        w3 = client(rpc or manifest.hospitals[0].rpc_url)
        suite = open_suite(w3, manifest)
        active = [h for h in members if suite.reads.is_active_member(h.signing_address)]
        if not active:
            raise AdmissionError("no active member in the manifest can propose")
        plan = plan_candidate(manifest, tier=tier.lower(), name=name, validator=validator)
        peers: tuple[PeerSettings, ...] = ()
        timeouts: TimeoutSettings | None = None
        if validator:  # checked before any file is written
            running = current_validators(members, suite.reads.validators())
            peers = tuple(peer_of(v) for v in running)
            timeouts = consensus_timeouts(directory, running)
        candidate = create_candidate(
            directory,
            manifest,
            plan,
            passphrase=secret,
            kdf=Kdf(scrypt_n=scrypt_n, pbkdf2_iterations=pbkdf2_iterations),
            validators=peers,
            timeouts=timeouts,
        )
        manifest = manifest.model_copy(update={"hospitals": [*manifest.hospitals, candidate]})
        save_manifest(directory, manifest)
        if not as_json:
            typer.echo(f"candidate {candidate.slug} ({candidate.signing_address}); voting:")
        accounts = [unlock(directory, h, secret) for h in active]
        tally = admit(
            suite.consortium,
            suite.reads,
            candidate=candidate,
            proposer=accounts[0],
            voters=accounts[1:],
            on_step=vote_echo(as_json),
        )
        if tally.executed:
            admitted = candidate.model_copy(update={"status": "admitted"})
            manifest = manifest.model_copy(
                update={"hospitals": [*manifest.hospitals[:-1], admitted]}
            )
            save_manifest(directory, manifest)
    outcome = "admitted" if tally.executed else "not carried (votes missing)"
    lines.append(f"proposal {tally.proposal_id}: {outcome}; member status {tally.status}")
    if validator:
        lines.append(
            f"validator from the block after the vote; p2p {candidate.p2p_endpoint}, peers "
            + ", ".join(f"{p.host}:{p.port}" for p in peers)
        )
        lines.append(f"start it: medledger ledger run --config {directory / plan.slug}/ledger.json")
    data = {
        "candidate": candidate.model_dump(mode="json"),
        "validator": validator,
        "peers": [p.model_dump(mode="json") for p in peers],
        **tally.as_dict(),
    }
    emit(data, as_json, lines)
    if not tally.executed:
        raise typer.Exit(1)


def backup_cmd(
    hospital: Annotated[Path, typer.Argument(help="The hospital directory to back up.")],
    to: Annotated[Path, typer.Option("--to", help="New directory to write the copy to.")],
    as_json: JsonFlag = False,
) -> None:
    """Copy a hospital directory consistently while its processes run (restore = put it back)."""
    with clean_errors():
        report = backup_hospital(hospital, to)
    data = {
        "to": str(to),
        "files": report.files,
        "chain": report.chain,
        "sqlite": report.sqlite,
        "blob_files": report.blobs,
    }
    emit(data, as_json, [f"backed up {hospital} to {to}: chain {report.chain}, "
                         f"{len(report.sqlite)} SQLite db, {report.blobs} blob files"])  # fmt: skip
