"""The node configuration file ``node.json`` that ``ledger init`` writes and ``ledger run`` reads.

Paths in it are relative to the file's directory so a config folder can be moved as a whole.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ledger.exceptions import ConfigError
from ledger.p2p.config import P2PSettings


class RPCSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    host: str = "127.0.0.1"
    port: Annotated[int, Field(ge=0, le=65535)] = 8545
    max_body_bytes: Annotated[int, Field(ge=1024)] = 5 * 1024 * 1024
    max_batch: Annotated[int, Field(ge=1)] = 1000
    #: eth_call/eth_estimateGas bounds (geth's RPCGasCap and RPCEVMTimeout); see ledger.calls
    gas_cap: Annotated[int, Field(ge=21_000, le=2**63 - 1)] = 50_000_000
    evm_timeout_s: Annotated[float, Field(gt=0, le=600)] = 5.0
    max_concurrent_calls: Annotated[int, Field(ge=1, le=256)] = 2
    #: Browser origins allowed on the WebSocket ("*" = any); no Origin header is always allowed
    ws_origins: tuple[str, ...] = ()
    #: Polling filters one client (an HTTP client address, a WebSocket connection) may hold
    max_filters_per_client: Annotated[int, Field(ge=1)] = 100


class NodeConfig(BaseModel):
    """Which chain (genesis), which validator key, where to keep data, where to listen."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    genesis: str = "genesis.json"
    validator_keystore: str = "validator.keystore.json"
    data_dir: str = "data"
    rpc: RPCSettings = Field(default_factory=RPCSettings)
    #: Set for a member of a multi-validator consortium (``ledger init --validators N``).
    p2p: P2PSettings | None = None


def load_node_config(path: Path) -> tuple[NodeConfig, Path]:
    """The config and the directory its relative paths start from; raises ``ConfigError``."""
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(
            f"config file {path} does not exist (create one: medledger ledger init)"
        ) from None
    except (OSError, json.JSONDecodeError) as exc:
        raise ConfigError(f"cannot read config {path}: {exc}") from None
    try:
        return NodeConfig.model_validate(raw), path.resolve().parent
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or '<root>'}: {e['msg']}" for e in exc.errors()
        )
        raise ConfigError(f"{path}: invalid node config: {problems}") from None


def write_node_config(path: Path, config: NodeConfig) -> None:
    path.write_text(json.dumps(config.model_dump(mode="json"), indent=2) + "\n", encoding="utf-8")
