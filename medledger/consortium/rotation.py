"""``consortium rotate-validator-key``: a member replaces its validator key by its own call.

The member account signs ``Consortium.rotateValidatorKey`` (no vote: the contract's
docstring says why that is the safe choice); the new key is written next to the old one
first (``validator/next.json``) and moved over ``validator/validator.json`` only once the
transaction is mined, so a refusal or a crash never leaves the hospital without the key the
chain lists. From the block after the rotation the chain counts the new key and every
validator drops links of the old one; the ledger must be restarted to sign with the new
key. The old key is deleted: the chain will never accept it again anyway.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from eth_account.signers.local import LocalAccount
from web3.contract import Contract
from web3.exceptions import Web3Exception

from contracts.exceptions import ContractsError
from ledger.cli.nodeconf import load_node_config, write_node_config
from ledger.exceptions import ConfigError
from medledger.consortium.admission import send_step
from medledger.consortium.exceptions import AdmissionError, ManifestError
from medledger.consortium.hospital import (
    VALIDATOR_DIR,
    VALIDATOR_FILE,
    Kdf,
    new_validator_key_file,
)
from medledger.consortium.manifest import HospitalEntry, Manifest

NEXT_FILE = f"{VALIDATOR_DIR}/next.json"


def rotate_validator_key(
    directory: Path,
    manifest: Manifest,
    entry: HospitalEntry,
    *,
    contract: Contract,
    member: LocalAccount,
    passphrase: str,
    kdf: Kdf,
) -> tuple[Manifest, str]:
    """Rotate ``entry``'s validator key on chain and on disk; return the new manifest and key.

    Raises
    ------
    AdmissionError
        The contract refused (its custom error is named) or the chain failed; the current
        key file is then untouched.
    """
    home = directory / entry.directory
    next_path = home / NEXT_FILE
    listed = _listed_key(contract, entry)
    if listed.lower() == _file_address(next_path).lower():
        address = listed  # an earlier run was mined, then stopped before the move
    else:
        next_path.unlink(missing_ok=True)  # a refused attempt's key: never on chain
        address = new_validator_key_file(next_path, passphrase=passphrase, kdf=kdf)
        call = contract.functions.rotateValidatorKey(address)
        send_step(call, member, "rotateValidatorKey", contract)
    os.replace(next_path, home / VALIDATOR_FILE)
    old = entry.validator_address
    for hospital in manifest.hospitals:  # the configured p2p peers name the new key
        _rename_peer(directory / hospital.directory / "ledger.json", old, address)
    updated = entry.model_copy(update={"validator_address": address})
    hospitals = [updated if h.slug == entry.slug else h for h in manifest.hospitals]
    return manifest.model_copy(update={"hospitals": hospitals}), address


def _listed_key(contract: Contract, entry: HospitalEntry) -> str:
    """The validator address the chain holds for ``entry`` now (``Member.validatorAddress``)."""
    try:
        return str(contract.functions.getMember(entry.signing_address).call()[7])
    except (ContractsError, Web3Exception, IndexError) as exc:
        raise AdmissionError(f"reading {entry.slug}'s validator key failed: {exc}") from None


def _file_address(path: Path) -> str:
    """The public address of a keystore file, "" when there is none (no unlock needed)."""
    try:
        return "0x" + str(json.loads(path.read_text(encoding="utf-8"))["address"]).removeprefix(
            "0x"
        )
    except (OSError, ValueError, KeyError, TypeError):
        return ""


def _rename_peer(path: Path, old: str, new: str) -> None:
    """Replace ``old`` by ``new`` in a ledger.json's p2p peers.

    Running ledgers keep the peers they started with: they accept the new key because the
    chain lists it, and dial it back where its hello announces.
    """
    if not path.exists():
        return
    try:
        config, _ = load_node_config(path)
    except ConfigError as exc:
        raise ManifestError(str(exc)) from None
    if config.p2p is None or all(p.address.lower() != old.lower() for p in config.p2p.peers):
        return
    peers = [
        p.model_copy(update={"address": new}) if p.address.lower() == old.lower() else p
        for p in config.p2p.peers
    ]
    p2p = config.p2p.model_copy(update={"peers": peers})
    write_node_config(path, config.model_copy(update={"p2p": p2p}))
