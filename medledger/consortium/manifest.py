"""``consortium.json``: the public facts of a consortium (no secret is ever in it).

Written by ``consortium init``, read by ``deploy``, ``add-member``, the demo and the
compose project's set-up service. Contract addresses are known before deployment: the
``Consortium`` is in the genesis at a fixed address, and Anchors, Referrals and Grants are
deployed by the first hospital's account from nonce 0 (CREATE addresses follow from sender
and nonce); ``deploy`` refuses to report success if they differ.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Literal

import rlp
from eth_utils.address import to_checksum_address
from eth_utils.crypto import keccak
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from medledger.consortium.exceptions import ManifestError
from medledger.consortium.layout import Network

MANIFEST = "consortium.json"
FORMAT: Literal["medledger-consortium/1"] = "medledger-consortium/1"
#: Deployment order after genesis (``contracts.deploy.deploy_satellites``, nonces 0..2).
SATELLITE_ORDER = ("anchors", "referrals", "grants")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class PortsEntry(_Strict):
    rpc: int
    p2p: int
    node_api: int
    gateway: int
    #: The node's HL7 MLLP port (issue 16; absent from manifests written before it: 0).
    hl7: int = 0
    dicom: int | None = None  # manifests written before the DICOM listener have none


class HospitalEntry(_Strict):
    slug: str
    name: str
    tier: str
    validator: bool
    directory: str
    signing_address: str
    #: The gateway operator's account, registered as the hospital's staff by ``deploy``.
    operator_address: str = ""
    #: The validator key's address (blocks, votes, p2p links): never ``signing_address``.
    validator_address: str
    encryption_public_key: str
    ports: PortsEntry
    rpc_url: str
    p2p_endpoint: str
    #: The endpoint registered on chain: peers POST deliveries and GET blocks here.
    node_url: str
    gateway_url: str
    status: Literal["founder", "candidate", "admitted"] = "founder"


class Manifest(_Strict):
    format: Literal["medledger-consortium/1"] = FORMAT
    chain_id: Annotated[int, Field(ge=1)]
    network: Network
    deployer: str
    contracts: dict[str, str]
    hospitals: list[HospitalEntry]

    def hospital(self, slug: str) -> HospitalEntry:
        for entry in self.hospitals:
            if entry.slug == slug:
                return entry
        raise ManifestError(f"no hospital {slug!r} in the consortium")


def create_address(sender: str, nonce: int) -> str:
    """The address a CREATE from ``sender`` at ``nonce`` yields: keccak(rlp([sender, nonce]))."""
    return to_checksum_address(keccak(rlp.encode([bytes.fromhex(sender[2:]), nonce]))[12:])


def predicted_suite(deployer: str, *, consortium: str) -> dict[str, str]:
    """The genesis ``consortium`` and the satellites ``deployer`` creates at nonces 0..2."""
    satellites = {name: create_address(deployer, i) for i, name in enumerate(SATELLITE_ORDER)}
    return {"consortium": to_checksum_address(consortium), **satellites}


def dump_manifest(manifest: Manifest) -> str:
    return json.dumps(manifest.model_dump(mode="json"), indent=2) + "\n"


def load_manifest(directory: Path) -> Manifest:
    """Read ``DIR/consortium.json``; raises ``ManifestError`` naming the problem."""
    path = directory / MANIFEST
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ManifestError(f"{path} does not exist (medledger consortium init)") from None
    except (OSError, json.JSONDecodeError) as exc:
        raise ManifestError(f"cannot read {path}: {exc}") from None
    try:
        return Manifest.model_validate(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "<root>"
        raise ManifestError(f"{path}: {where}: {first['msg']}") from None
