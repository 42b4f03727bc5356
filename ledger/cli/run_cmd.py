"""``medledger ledger run``: one node (ledger + block producer + JSON-RPC) until SIGTERM/SIGINT.

The listening socket is bound before the ledger is opened, so a port in use fails fast and
leaves the data directory untouched. uvicorn turns SIGTERM/SIGINT into a graceful shutdown
(stop accepting, finish in-flight requests), after which the ledger is closed.
"""

from __future__ import annotations

import errno
import logging
import signal
import socket
from pathlib import Path
from typing import Annotated

import typer
import uvicorn

from common.version import __version__
from ledger.abc import LedgerAPI
from ledger.calls import CallLimits
from ledger.cli.errors import EXIT_AUTH, EXIT_CONFIG, EXIT_PORT, fail
from ledger.cli.keystore import WrongPassphrase, passphrase, read_keystore
from ledger.cli.nodeconf import NodeConfig, RPCSettings, load_node_config
from ledger.exceptions import ConfigError, LedgerError, StorageError
from ledger.facade import LedgerFacade
from ledger.launch import open_ledger
from ledger.rpc.dispatch import Limits
from ledger.rpc.server import ServerLimits, create_app

log = logging.getLogger("medledger.ledger")
_SIGNALS = (signal.SIGTERM, signal.SIGINT)


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            fail(f"cannot listen on {host}:{port}: address already in use", EXIT_PORT)
        fail(f"cannot listen on {host}:{port}: {exc.strerror}", EXIT_PORT)
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


def run(
    config: Annotated[Path, typer.Option("--config", help="node.json written by ledger init.")],
    data_dir: Annotated[
        Path | None, typer.Option("--data-dir", help="Chain database directory (overrides config).")
    ] = None,
    host: Annotated[str | None, typer.Option(help="RPC listen address (overrides config).")] = None,
    port: Annotated[
        int | None, typer.Option(min=0, max=65535, help="RPC port; 0 picks a free one.")
    ] = None,
    log_level: Annotated[str, typer.Option(help="debug, info, warning or error.")] = "info",
) -> None:
    """Run a node: produce blocks and serve JSON-RPC over HTTP and WebSocket."""
    logging.basicConfig(
        level=log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    node_config, base, key = _read_config(config)
    rpc = node_config.rpc
    sock = _bind(host or rpc.host, rpc.port if port is None else port)
    ledger = _open(node_config, base, data_dir, key, sock)
    del key
    ledger.inner.calls.configure(
        CallLimits(
            gas_cap=rpc.gas_cap,
            timeout_s=rpc.evm_timeout_s,
            max_concurrent=rpc.max_concurrent_calls,
        )
    )
    _serve(ledger, sock, rpc, log_level)


def _read_config(config: Path) -> tuple[NodeConfig, Path, bytes]:
    """node.json, the directory its paths are relative to, and the unlocked validator key."""
    try:
        node_config, base = load_node_config(config)
        key = read_keystore(base / node_config.validator_keystore, passphrase(confirm=False))
    except WrongPassphrase as exc:
        fail(str(exc), EXIT_AUTH)
    except ConfigError as exc:
        fail(str(exc), EXIT_CONFIG)
    return node_config, base, key


def _open(
    node_config: NodeConfig, base: Path, data_dir: Path | None, key: bytes, sock: socket.socket
) -> LedgerFacade:
    """The running ledger; on failure the bound socket is closed and the process exits."""
    try:
        return open_ledger(
            genesis=base / node_config.genesis,
            data_dir=data_dir or base / node_config.data_dir,
            validator_key=key,
            p2p=node_config.p2p,
        )
    except (ConfigError, StorageError) as exc:
        sock.close()
        fail(str(exc), EXIT_CONFIG)
    except LedgerError as exc:
        sock.close()
        fail(f"cannot start the ledger: {exc}", EXIT_CONFIG)


def _serve(ledger: LedgerAPI, sock: socket.socket, rpc: RPCSettings, log_level: str) -> None:
    """Serve JSON-RPC on ``sock`` until SIGTERM/SIGINT, then close the ledger."""
    bound_host, bound_port = sock.getsockname()[:2]
    app = create_app(
        ledger,
        client_version=f"medledger/v{__version__}",
        limits=ServerLimits(
            max_body_bytes=rpc.max_body_bytes,
            rpc=Limits(max_batch=rpc.max_batch),
            ws_origins=rpc.ws_origins,
            max_filters_per_client=rpc.max_filters_per_client,
        ),
    )
    server = uvicorn.Server(
        uvicorn.Config(
            app,
            log_level=log_level.lower(),
            access_log=False,
            proxy_headers=False,  # served directly, never behind a proxy we would trust
            ws_max_size=rpc.max_body_bytes,
            timeout_graceful_shutdown=5,
            lifespan="on",
        )
    )
    log.info(
        "chain %d: JSON-RPC listening on http://%s:%d and ws://%s:%d",
        ledger.chain_id,
        bound_host,
        bound_port,
        bound_host,
        bound_port,
    )
    # uvicorn handles SIGTERM/SIGINT itself, then re-raises the signal to the handler that was
    # installed before it; a recording handler lets us close the ledger and exit 0 afterwards.
    received: list[int] = []
    previous = {sig: signal.signal(sig, lambda s, _f: received.append(s)) for sig in _SIGNALS}
    try:
        server.run(sockets=[sock])
    finally:
        ledger.close()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        log.info("ledger closed cleanly")
