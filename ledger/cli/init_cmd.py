"""``medledger ledger init``: a development consortium of one validator, with fresh keys."""

from __future__ import annotations

import json
import secrets
from pathlib import Path
from typing import Annotated, NamedTuple

import typer
from eth_account import Account
from pydantic import ValidationError

from ledger.cli.consortium import write_consortium
from ledger.cli.errors import fail
from ledger.cli.keystore import passphrase, write_keystore
from ledger.cli.nodeconf import NodeConfig, RPCSettings, write_node_config
from ledger.config import Genesis, PermittedAccount, dump_genesis
from ledger.exceptions import ConfigError

DEV_BALANCE = 10**24  # 1,000,000 ether: dev accounts never run dry in tests or the demo


def _fresh_key() -> bytes:
    while True:
        key = secrets.token_bytes(32)
        try:
            Account.from_key(key)
        except ValueError:  # outside the curve order: astronomically rare, but draw again
            continue
        return key


def dev_genesis(
    *, chain_id: int, validator: str, accounts: list[str], balance: int, block_interval_ms: int
) -> Genesis:
    """A single-validator genesis whose validator is also a funded member."""
    return Genesis(
        chain_id=chain_id,
        validators=[validator],
        accounts=[
            PermittedAccount(address=address, kind="member", balance=balance)
            for address in [validator, *accounts]
        ],
        block_interval_ms=block_interval_ms,
    )


def init(
    out: Annotated[Path, typer.Option("--out", help="Directory to create the config in.")],
    chain_id: Annotated[int, typer.Option(help="EIP-155 chain id of the new chain.")] = 1337,
    accounts: Annotated[
        int, typer.Option(min=0, max=100, help="Extra funded member accounts (keystores).")
    ] = 0,
    balance: Annotated[int, typer.Option(min=0, help="Genesis balance of each account, wei.")] = (
        DEV_BALANCE
    ),
    block_interval_ms: Annotated[
        int, typer.Option(min=50, max=500, help="Target time between blocks.")
    ] = 100,
    port: Annotated[int, typer.Option(min=0, max=65535, help="RPC port in node.json.")] = 8545,
    validators: Annotated[
        int,
        typer.Option(
            min=1, max=32, help="Validators; more than one writes OUT/node<i>/ per validator."
        ),
    ] = 1,
    p2p_port: Annotated[
        int, typer.Option(min=1, max=65535, help="First p2p port (validator i: +i).")
    ] = 30300,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
) -> None:
    """Write a dev consortium config: genesis, keystores (mode 0600) and node.json."""
    shape = _Shape(chain_id, accounts, balance, block_interval_ms, port)
    try:
        out.mkdir(parents=True, exist_ok=True)
        if any(out.iterdir()):
            raise ConfigError(f"{out} is not empty; refusing to overwrite keys or config")
        secret = passphrase(confirm=True)
        if validators > 1:
            summary = _write_consortium(
                out, shape, secret, validators=validators, p2p_port=p2p_port
            )
        else:
            summary = _write_single(out, shape, secret)
    except (ConfigError, OSError) as exc:
        fail(str(exc))
    except ValidationError as exc:
        fail(f"invalid genesis parameters: {exc.errors()[0]['msg']}")
    _report(summary, as_json)


class _Shape(NamedTuple):
    """The chain ``init`` was asked for (its options but the layout ones)."""

    chain_id: int
    accounts: int
    balance: int
    block_interval_ms: int
    rpc_port: int


def _write_consortium(
    out: Path, shape: _Shape, secret: str, *, validators: int, p2p_port: int
) -> dict[str, object]:
    names, extra = write_consortium(
        out,
        keys=[_fresh_key() for _ in range(validators)],
        account_keys=[_fresh_key() for _ in range(shape.accounts)],
        secret=secret,
        chain_id=shape.chain_id,
        balance=shape.balance,
        block_interval_ms=shape.block_interval_ms,
        rpc_port=shape.rpc_port,
        p2p_port=p2p_port,
    )
    return {
        "configs": [str(out / f"node{i}" / "node.json") for i in range(validators)],
        "chain_id": shape.chain_id,
        "validators": names,
        "accounts": extra,
    }


def _write_single(out: Path, shape: _Shape, secret: str) -> dict[str, object]:
    config = NodeConfig(rpc=RPCSettings(port=shape.rpc_port))
    validator = write_keystore(out / config.validator_keystore, _fresh_key(), secret)
    extra = [
        write_keystore(out / f"account{i}.keystore.json", _fresh_key(), secret)
        for i in range(shape.accounts)
    ]
    genesis = dev_genesis(
        chain_id=shape.chain_id,
        validator=validator,
        accounts=extra,
        balance=shape.balance,
        block_interval_ms=shape.block_interval_ms,
    )
    (out / config.genesis).write_text(dump_genesis(genesis), encoding="utf-8")
    write_node_config(out / "node.json", config)
    return {
        "config": str(out / "node.json"),
        "chain_id": shape.chain_id,
        "validator": validator,
        "accounts": extra,
    }


def _report(summary: dict[str, object], as_json: bool) -> None:
    if as_json:
        typer.echo(json.dumps(summary))
    elif "validators" in summary:
        typer.echo(f"wrote a consortium of {len(summary['validators'])} validators")  # type: ignore[arg-type]
    else:
        typer.echo(
            f"wrote {summary['config']}, genesis and keystores; validator {summary['validator']}"
        )
