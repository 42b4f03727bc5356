"""``ledger init --validators N``: a loopback consortium of N validators, one folder each.

Layout (paths in each ``node.json`` are relative to it, so the folder can be moved)::

    OUT/genesis.json                 shared by every validator
    OUT/account<i>.keystore.json     funded member accounts for clients
    OUT/node<i>/node.json            RPC port base+i, p2p port p2p_base+i, every peer
    OUT/node<i>/validator.keystore.json
"""

from __future__ import annotations

from pathlib import Path

from ledger.cli.keystore import write_keystore
from ledger.cli.nodeconf import NodeConfig, RPCSettings, write_node_config
from ledger.config import Genesis, PermittedAccount, dump_genesis
from ledger.p2p.config import P2PSettings, PeerSettings


def write_consortium(
    out: Path,
    *,
    keys: list[bytes],
    account_keys: list[bytes],
    secret: str,
    chain_id: int,
    balance: int,
    block_interval_ms: int,
    rpc_port: int,
    p2p_port: int,
    host: str = "127.0.0.1",
) -> tuple[list[str], list[str]]:
    """Write the consortium; returns the validators' and the accounts' addresses."""
    validators: list[str] = []
    for i, key in enumerate(keys):
        (out / f"node{i}").mkdir()
        validators.append(write_keystore(out / f"node{i}" / "validator.keystore.json", key, secret))
    accounts = [
        write_keystore(out / f"account{i}.keystore.json", key, secret)
        for i, key in enumerate(account_keys)
    ]
    genesis = Genesis(
        chain_id=chain_id,
        validators=validators,
        accounts=[
            PermittedAccount(address=address, kind="member", balance=balance)
            for address in [*validators, *accounts]
        ],
        block_interval_ms=block_interval_ms,
    )
    (out / "genesis.json").write_text(dump_genesis(genesis), encoding="utf-8")
    peers = [
        PeerSettings(address=address, host=host, port=p2p_port + i)
        for i, address in enumerate(validators)
    ]
    for i in range(len(keys)):
        config = NodeConfig(
            genesis="../genesis.json",
            rpc=RPCSettings(host=host, port=rpc_port + i),
            p2p=P2PSettings(host=host, port=p2p_port + i, peers=peers),
        )
        write_node_config(out / f"node{i}" / "node.json", config)
    return validators, accounts
