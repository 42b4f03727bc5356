"""``consortium init``: every hospital's keystore, the genesis, the configs and the manifest.

Keys come first (the genesis names the hospitals' signing addresses as validators and
permitted accounts), then the files every hospital shares, then each hospital's configs.
A directory that already holds files is refused before anything is written.
"""

from __future__ import annotations

from pathlib import Path

from ledger.config import Genesis, PermittedAccount, dump_genesis
from ledger.p2p.config import PeerSettings, TimeoutSettings
from medledger.consortium.exceptions import OutputExists
from medledger.consortium.files import new_hex_secret, new_swarm_key, write_private
from medledger.consortium.hospital import (
    SWARM_KEY_FILE,
    Kdf,
    SharedFiles,
    create_keystore,
    write_configs,
)
from medledger.consortium.layout import HospitalPlan, Network
from medledger.consortium.manifest import MANIFEST, Manifest, dump_manifest, predicted_suite

#: BFT timeouts for loopback demos and tests (every message arrives in milliseconds).
FAST_TIMEOUTS = TimeoutSettings(
    propose_ms=600,
    propose_delta_ms=200,
    prevote_ms=300,
    prevote_delta_ms=100,
    precommit_ms=300,
    precommit_delta_ms=100,
)


def consortium_genesis(
    *, chain_id: int, addresses: list[str], validators: list[str], block_interval_ms: int
) -> Genesis:
    """Validators are the validating hospitals; every hospital may send transactions."""
    return Genesis(
        chain_id=chain_id,
        validators=validators,
        accounts=[PermittedAccount(address=a, kind="member") for a in addresses],
        block_interval_ms=block_interval_ms,
    )


def check_empty(out: Path) -> None:
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise OutputExists(f"{out} is not an empty directory; refusing to overwrite keys")


def init_consortium(
    out: Path,
    plans: tuple[HospitalPlan, ...],
    *,
    passphrase: str,
    network: Network,
    chain_id: int = 1337,
    block_interval_ms: int = 100,
    fast_consensus: bool = False,
    kdf: Kdf,
) -> Manifest:
    """Create a consortium directory (see the module docstring); return its manifest.

    Raises
    ------
    OutputExists
        When ``out`` holds anything (nothing is written then).
    """
    check_empty(out)
    out.mkdir(parents=True, exist_ok=True)
    stores = [create_keystore(out / plan.slug, passphrase=passphrase, kdf=kdf) for plan in plans]
    addresses = [str(store.export_public()["signing_address"]) for store in stores]
    genesis = consortium_genesis(
        chain_id=chain_id,
        addresses=addresses,
        validators=[a for a, p in zip(addresses, plans, strict=True) if p.validator],
        block_interval_ms=block_interval_ms,
    )
    contracts = predicted_suite(addresses[0])
    peers = tuple(
        PeerSettings(address=a, host=p.host(network, "ledger"), port=p.ports.p2p)
        for a, p in zip(addresses, plans, strict=True)
        if p.validator
    )
    shared = SharedFiles(
        genesis_json=dump_genesis(genesis),
        chain_id=chain_id,
        contracts=contracts,
        consortium_secret=new_hex_secret(),
        swarm_key=new_swarm_key(),
        peers=peers,
        validator_rpc_url=plans[0].rpc_url(network),
        timeouts=FAST_TIMEOUTS if fast_consensus else TimeoutSettings(),
    )
    entries = [
        write_configs(out / plan.slug, plan, store, network=network, shared=shared)
        for plan, store in zip(plans, stores, strict=True)
    ]
    (out / "genesis.json").write_text(shared.genesis_json, encoding="utf-8")
    write_private(out / SWARM_KEY_FILE, shared.swarm_key)
    manifest = Manifest(
        chain_id=chain_id,
        network=network,
        deployer=addresses[0],
        contracts=contracts,
        hospitals=entries,
    )
    (out / MANIFEST).write_text(dump_manifest(manifest), encoding="utf-8")
    return manifest
