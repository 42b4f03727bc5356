"""The config side of admitting a hospital: its keystore and configs next to the members'.

The candidate gets the consortium's shared files (genesis, pseudonym secret, swarm key,
contract addresses) from an existing member's directory and the next free ports; the
manifest lists it as ``candidate`` until the vote admits it. A validating candidate's
``ledger.json`` lists the validators in force and itself as p2p peers
(:mod:`medledger.consortium.validators`).
"""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path

from ledger.p2p.config import PeerSettings, TimeoutSettings
from ledger.p2p.endpoints import parse_endpoint
from medledger.consortium.exceptions import LayoutError, OutputExists
from medledger.consortium.hospital import (
    SECRET_FILE,
    SWARM_KEY_FILE,
    Kdf,
    SharedFiles,
    create_keystore,
    validator_address,
    write_configs,
)
from medledger.consortium.layout import (
    DISPLAY_NAMES,
    PORT_OFFSETS,
    PORT_STRIDE,
    SLUGS,
    HospitalPlan,
    Ports,
)
from medledger.consortium.manifest import MANIFEST, HospitalEntry, Manifest, dump_manifest


def plan_candidate(
    manifest: Manifest, *, tier: str, name: str | None, validator: bool = False
) -> HospitalPlan:
    """The next hospital: a fresh slug for its tier and the next block of ports."""
    if tier not in SLUGS:
        raise LayoutError(f"unknown tier {tier!r}; choose from {', '.join(SLUGS)}")
    taken = {h.slug for h in manifest.hospitals}
    n = 1
    while (slug := SLUGS[tier] + ("" if n == 1 else f"-{n}")) in taken:
        n += 1
    index = len(manifest.hospitals)
    base = manifest.hospitals[0].ports.rpc + PORT_STRIDE * index
    if base + PORT_STRIDE > 65535:
        raise LayoutError("no free ports left for another hospital")
    return HospitalPlan(
        index=index,
        slug=slug,
        name=name or DISPLAY_NAMES[tier] + ("" if n == 1 else f" {n}"),
        tier=tier,
        ports=Ports(**{k: base + off for k, off in PORT_OFFSETS.items()}),
        validator=validator,
    )


def shared_from(directory: Path, manifest: Manifest) -> SharedFiles:
    home = directory / manifest.hospitals[0].directory
    return SharedFiles(
        genesis_json=(home / "genesis.json").read_text(encoding="utf-8"),
        chain_id=manifest.chain_id,
        contracts=dict(manifest.contracts),
        consortium_secret=(home / SECRET_FILE).read_text(encoding="utf-8").strip(),
        swarm_key=(home / SWARM_KEY_FILE).read_text(encoding="utf-8"),
        validator_rpc_url=manifest.hospitals[0].rpc_url,
    )


def create_candidate(
    directory: Path,
    manifest: Manifest,
    plan: HospitalPlan,
    *,
    passphrase: str,
    kdf: Kdf,
    validators: tuple[PeerSettings, ...] = (),
    timeouts: TimeoutSettings | None = None,
) -> HospitalEntry:
    """Write the candidate's keystore and configs; a validator's p2p peers are ``validators``."""
    home = directory / plan.slug
    if home.exists():
        raise OutputExists(f"{home} exists; refusing to overwrite keys")
    store = create_keystore(home, passphrase=passphrase, kdf=kdf)
    shared = shared_from(directory, manifest)
    if plan.validator:
        host, port = parse_endpoint(plan.p2p_endpoint(manifest.network))
        own = PeerSettings(address=validator_address(home), host=host, port=port)
        shared = replace(shared, peers=(*validators, own), timeouts=timeouts or shared.timeouts)
    entry = write_configs(home, plan, store, network=manifest.network, shared=shared)
    return entry.model_copy(update={"status": "candidate"})


def save_manifest(directory: Path, manifest: Manifest) -> None:
    """Replace ``consortium.json`` atomically (a crash leaves the old or the new one)."""
    tmp = directory / f".{MANIFEST}.tmp"
    tmp.write_text(dump_manifest(manifest), encoding="utf-8")
    os.replace(tmp, directory / MANIFEST)
