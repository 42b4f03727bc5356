"""``consortium init``: every hospital's keystore, the genesis, the configs and the manifest.

Keys come first (the genesis installs the hospitals as the founding members of the
``Consortium`` contract), then the files every hospital shares, then each hospital's configs.
A directory that already holds files is refused before anything is written.

The ``Consortium`` lives in the genesis itself: its constructor (founders with tiers,
encryption keys, endpoints, validator flags and validator addresses; the vote threshold)
runs once in py-evm here and its code and storage go into ``alloc`` at
``consortium_contract``. From block 0 on, who
may transact and who validates are read from that contract on every node
(``ledger.permissions``, ``ledger.validator_sets``); the other contracts are deployed
afterwards (``consortium deploy``) by the first hospital.
"""

from __future__ import annotations

from pathlib import Path

from eth_utils.address import to_checksum_address

from contracts.deploy import FoundingMember, SuiteConfig
from contracts.genesis import consortium_creation_code
from keys.keystore import Keystore
from ledger.config import Genesis, dump_genesis
from ledger.genesis_contract import install_contract
from ledger.p2p.config import PeerSettings, TimeoutSettings
from medledger.consortium import certs
from medledger.consortium.exceptions import OutputExists
from medledger.consortium.files import new_hex_secret, new_swarm_key, write_private
from medledger.consortium.hospital import (
    SWARM_KEY_FILE,
    Kdf,
    SharedFiles,
    create_keystore,
    validator_address,
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


def founding_members(
    out: Path, plans: tuple[HospitalPlan, ...], stores: list[Keystore], network: Network
) -> list[FoundingMember]:
    """The founders the genesis ``Consortium`` installs (public data only).

    Each has its member account (``keystore/``) and its validator address (``validator/``).
    """
    founders = []
    for plan, store in zip(plans, stores, strict=True):
        public = store.export_public()
        founders.append(
            FoundingMember(
                account=to_checksum_address(str(public["signing_address"])),
                name=plan.name,
                tier=plan.tier_value,
                encryption_key=bytes.fromhex(str(public["encryption"]["public_key"])[2:]),
                validator_address=to_checksum_address(validator_address(out / plan.slug)),
                endpoint=plan.node_url(network),
                validator=plan.validator,
            )
        )
    return founders


def consortium_genesis(
    *,
    chain_id: int,
    founders: list[FoundingMember],
    block_interval_ms: int,
    config: SuiteConfig | None = None,
) -> Genesis:
    """A genesis governed from block 0 by a ``Consortium`` holding ``founders``.

    ``validators`` repeats the validator addresses of the founders flagged as validators:
    the ledger checks at start that it equals the contract's ``validators()`` on the
    genesis state.
    """
    installed = install_contract(
        chain_id=chain_id, creation_code=consortium_creation_code(founders, config)
    )
    return Genesis(
        chain_id=chain_id,
        validators=[f.validator_address for f in founders if f.validator],
        alloc={installed.address: installed.account},
        block_interval_ms=block_interval_ms,
        consortium_contract=installed.address,
    )


def check_empty(out: Path) -> None:
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise OutputExists(f"{out} is not an empty directory; refusing to overwrite keys")


def _write_certs(
    out: Path, plans: tuple[HospitalPlan, ...], *, passphrase: str, network: Network
) -> None:
    """The consortium CA (key encrypted under the passphrase) and each hospital's ``tls/``.

    Written whether or not the configs use TLS, so turning it on later needs no new CA.
    """
    ca = certs.new_authority()
    certs.write_authority(out, ca, passphrase=passphrase)
    for plan in plans:
        certs.write_hospital_certs(out / plan.slug, ca, plan=plan, network=network)


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
    _write_certs(out, plans, passphrase=passphrase, network=network)
    addresses = [str(store.export_public()["signing_address"]) for store in stores]
    founders = founding_members(out, plans, stores, network)
    genesis = consortium_genesis(
        chain_id=chain_id, founders=founders, block_interval_ms=block_interval_ms
    )
    assert genesis.consortium_contract is not None
    contracts = predicted_suite(addresses[0], consortium=genesis.consortium_contract)
    # the p2p allow-list: validator addresses (what validators() returns), not accounts
    peers = tuple(
        PeerSettings(address=f.validator_address, host=p.host(network, "ledger"), port=p.ports.p2p)
        for f, p in zip(founders, plans, strict=True)
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
