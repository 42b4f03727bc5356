"""``medledger gateway run``: one hospital's gateway over the real chain and node.

Run from the hospital directory ``medledger consortium init`` wrote (the process table in
``medledger.processes`` does): settings come from ``gateway.env`` (``MEDLEDGER_GATEWAY_*``),
the chain, contracts, blob store and case database from the node's ``node.json``, the
keystore passphrase from ``$MEDLEDGER_PASSPHRASE`` (or a prompt), never the command line.
uvicorn stops cleanly on SIGINT/SIGTERM (in-flight requests finish first).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Annotated
from urllib.parse import urlsplit

import typer
from pydantic import ValidationError

from common import allocator
from common.tls import TLSConfigError, check_cert_pair
from gateway.app import create_app
from gateway.exceptions import GatewayError
from gateway.settings import GatewaySettings
from gateway.wiring.build import GatewaySources, build_services
from keys.passphrase import read_passphrase

app = typer.Typer(help="A hospital's gateway (physician sign-in, records, DICOMweb, audit).")

#: Hosts a gateway listens on as such; any other public host means "listen everywhere"
#: (a container behind a published port).
_LOOPBACK = {"127.0.0.1", "localhost", "::1"}


def listen_address(public_url: str) -> tuple[str, int]:
    """Where to listen, from the public URL: loopback stays loopback, else all interfaces."""
    parts = urlsplit(public_url)
    host = parts.hostname or "127.0.0.1"
    port = parts.port or (443 if parts.scheme == "https" else 80)
    return (host if host in _LOOPBACK else "0.0.0.0", port)


def load_settings(env_file: Path) -> GatewaySettings:
    """Settings from ``env_file`` (environment variables win); a clear error if invalid."""
    if not env_file.is_file():
        raise typer.BadParameter(f"{env_file} does not exist", param_hint="--env-file")
    try:
        return GatewaySettings(_env_file=env_file)  # type: ignore[call-arg]
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or '<root>'}: {e['msg']}" for e in exc.errors()
        )
        raise typer.BadParameter(problems, param_hint="--env-file") from None


@app.command("run")
def run(
    env_file: Annotated[
        Path, typer.Option("--env-file", help="The gateway's MEDLEDGER_GATEWAY_* settings.")
    ] = Path("gateway.env"),
    node_config: Annotated[
        Path, typer.Option("--node-config", help="The hospital node's config (chain, cases).")
    ] = Path("node.json"),
    operator_keystore: Annotated[
        Path | None,
        typer.Option(
            "--operator-keystore",
            envvar="MEDLEDGER_GATEWAY_OPERATOR_KEYSTORE",
            help="Keystore of the operator account that sends redemptions "
            "(default: ./operator if present; without one redemptions are refused).",
        ),
    ] = None,
    port: Annotated[
        int | None, typer.Option(help="Listen port (default: the public URL's).")
    ] = None,
    log_level: Annotated[str, typer.Option(help="uvicorn log level.")] = "info",
    access_log: Annotated[
        bool,
        typer.Option(
            "--access-log/--no-access-log",
            help="Log one redacted line per request (about 4% of the gateway's CPU under "
            "load, bench/gateway.py).",
        ),
    ] = True,
) -> None:
    """Serve the gateway until SIGINT/SIGTERM.

    One worker process: sessions live in this process's memory (a second worker would not
    know them), and the gateway's CPU work (hashing, AES) runs on its threads, which
    release the GIL. The event loop is uvloop and the HTTP parser httptools (uvicorn's
    "auto" picks both; they are dependencies).
    """
    import uvicorn

    allocator.tune_for_large_buffers()
    settings = load_settings(env_file)
    if operator_keystore is None and Path("operator").is_dir():
        operator_keystore = Path("operator")
    sources = GatewaySources(
        node_config=node_config,
        passphrase=read_passphrase(),
        operator_keystore=operator_keystore,
    )
    try:
        services = build_services(settings=settings, sources=sources)
    except GatewayError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    if settings.tls_certfile is not None and settings.tls_keyfile is not None:
        try:
            check_cert_pair(Path(settings.tls_certfile), Path(settings.tls_keyfile))
        except TLSConfigError as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(2) from None
    host, public_port = listen_address(settings.public_url)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    uvicorn.run(
        create_app(services=services, settings=settings),
        host=host,
        port=port if port is not None else public_port,
        log_level=log_level,
        access_log=access_log,
        loop="uvloop",
        http="httptools",
        ssl_certfile=settings.tls_certfile,
        ssl_keyfile=settings.tls_keyfile,
    )
