"""``medledger consortium …``: create a local consortium, deploy its contracts, admit members.

Errors print one line on stderr and exit non-zero: 2 bad input or an existing output
directory, 3 passphrase or keystore problem, 4 the chain cannot be reached or refused.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from keys.keyfiles import DEFAULT_PBKDF2_ITERATIONS, DEFAULT_SCRYPT_N
from keys.passphrase import read_passphrase
from medledger.consortium.cli_chain import add_member, backup_cmd, deploy_cmd
from medledger.consortium.cli_common import JsonFlag, Pbkdf2, ScryptN, clean_errors, emit
from medledger.consortium.cli_staff import app as staff_app
from medledger.consortium.cli_up import up
from medledger.consortium.cli_validator import rotate_validator_key_cmd, set_validator
from medledger.consortium.hospital import Kdf
from medledger.consortium.layout import (
    DEFAULT_BASE_PORT,
    DEFAULT_TIERS,
    Network,
    parse_tiers,
    plan_hospitals,
)
from medledger.consortium.writer import init_consortium

app = typer.Typer(
    name="consortium",
    help="A consortium of hospitals: create one locally, deploy its contracts, admit members.",
    no_args_is_help=True,
    add_completion=False,
)


@app.command()
def init(
    hospitals: Annotated[int, typer.Option("--hospitals", help="How many hospitals (1-64).")],
    out: Annotated[Path, typer.Option("--out", help="Empty directory to create it in.")],
    tiers: Annotated[
        str, typer.Option(help="Comma-separated tiers, cycled over the hospitals.")
    ] = ",".join(DEFAULT_TIERS),
    base_port: Annotated[
        int, typer.Option(help="First port; hospital i uses base+10i .. base+10i+3.")
    ] = DEFAULT_BASE_PORT,
    validators: Annotated[
        int | None, typer.Option(help="How many hospitals validate (default: all).")
    ] = None,
    network: Annotated[
        Network, typer.Option(help="loopback (demo) or compose (docker-compose.yml).")
    ] = Network.loopback,
    chain_id: Annotated[int, typer.Option(min=1, help="EIP-155 chain id.")] = 1337,
    block_interval_ms: Annotated[
        int, typer.Option(min=50, max=500, help="Target time between blocks.")
    ] = 100,
    fast_consensus: Annotated[
        bool, typer.Option(help="Short BFT timeouts for a loopback demo or tests.")
    ] = False,
    scrypt_n: ScryptN = DEFAULT_SCRYPT_N,
    pbkdf2_iterations: Pbkdf2 = DEFAULT_PBKDF2_ITERATIONS,
    tls: Annotated[
        bool | None,
        typer.Option(
            "--tls/--no-tls",
            help="HTTPS for node APIs and gateways, mTLS between nodes "
            "(default: on under compose, off on loopback).",
        ),
    ] = None,
    if_missing: Annotated[
        bool, typer.Option(help="Succeed without writing when OUT already holds a consortium.")
    ] = False,
    as_json: JsonFlag = False,
) -> None:
    """Write a consortium: per hospital a keystore and configs; the genesis; the manifest."""
    with clean_errors():
        if if_missing and (out / "consortium.json").exists():
            emit({"out": str(out), "created": False}, as_json, [f"{out} exists; kept as is"])
            return
        plans = plan_hospitals(
            hospitals,
            tiers=parse_tiers(tiers),
            base_port=base_port,
            validators=validators,
            tls=network is Network.compose if tls is None else tls,
        )
        manifest = init_consortium(
            out,
            plans,
            passphrase=read_passphrase(confirm=True),
            network=network,
            chain_id=chain_id,
            block_interval_ms=block_interval_ms,
            fast_consensus=fast_consensus,
            kdf=Kdf(scrypt_n=scrypt_n, pbkdf2_iterations=pbkdf2_iterations),
        )
    lines = [f"wrote consortium of {len(manifest.hospitals)} hospitals to {out}"]
    lines += [
        f"  {h.slug:<26} {h.tier:<9} {h.signing_address}  rpc :{h.ports.rpc}"
        f"  gateway :{h.ports.gateway}"
        for h in manifest.hospitals
    ]
    emit({"out": str(out), "created": True, **manifest.model_dump(mode="json")}, as_json, lines)


app.command("deploy")(deploy_cmd)
app.command("add-member")(add_member)
app.command("set-validator")(set_validator)
app.command("rotate-validator-key")(rotate_validator_key_cmd)
app.command("backup")(backup_cmd)
app.command("up")(up)
app.add_typer(staff_app)
