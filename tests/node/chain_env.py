"""A real chain for node tests: ``medledger ledger run`` with the hospital's key permitted.

``ledger init`` writes a one-validator consortium; we add the hospital's signing address to the
genesis as a permitted member before the first start, run the node process on loopback, and
deploy the contract suite with ``contracts.deploy`` (the hospital is a founding member, so
``Anchors`` accepts its batches). Keystores use cheap KDF parameters (tests only).
"""

from __future__ import annotations

import hashlib
import json
import signal
from dataclasses import dataclass
from pathlib import Path

from contracts.deploy import FoundingMember, connect, deploy_suite
from contracts.typing import Tier
from keys.keystore import Keystore
from ledger.config import PermittedAccount, dump_genesis, load_genesis
from node.config import LoadedConfig, NodeSettings, load_config, write_config
from tests.devchain import validator_address_of
from tests.integration.nodeproc import PASSPHRASE, NodeProcess, init_config, start_node

API_TOKEN = "test-api-token-of-the-county-hospital"
CONSORTIUM_SECRET = "c0" * 32
SECRET_ENV = "MEDLEDGER_CONSORTIUM_SECRET"


@dataclass
class ChainEnv:
    root: Path
    chain: NodeProcess
    deployment: dict[str, str]
    hospital: str
    config_path: Path

    def config(self) -> LoadedConfig:
        return load_config(self.config_path)

    def stop(self) -> None:
        self.chain.stop(signal.SIGTERM)


def new_hospital_keystore(directory: Path) -> Keystore:
    return Keystore.create(directory, PASSPHRASE, scrypt_n=2**4, pbkdf2_iterations=1000)


def write_node_config(
    env_root: Path, *, rpc_url: str, deployment: dict[str, str], batch_size: int = 64,
    interval_s: float = 0.2, name: str = "node",
) -> Path:  # fmt: skip
    """A node directory (config + keystore must exist at ``env_root/name/keystore``)."""
    node_dir = env_root / name
    node_dir.mkdir(exist_ok=True)
    settings = NodeSettings.model_validate(
        {
            "rpc_url": rpc_url,
            "contracts": {k.lower(): v for k, v in deployment.items()},
            "anchor": {"batch_size": batch_size, "interval_s": interval_s},
            "api": {"token_sha256": hashlib.sha256(API_TOKEN.encode()).hexdigest(), "port": 0},
            "blob": {"directory": "blobs", "durable": True},
        }
    )
    write_config(node_dir / "node.json", settings)
    return node_dir / "node.json"


def start_chain_env(root: Path, *, batch_size: int = 64, interval_s: float = 0.2) -> ChainEnv:
    keystore = new_hospital_keystore(root / "node" / "keystore")
    hospital = keystore.export_public()["signing_address"]
    enc_key = bytes.fromhex(keystore.export_public()["encryption"]["public_key"][2:])
    dev = init_config(root / "chain-config", accounts=0)
    genesis_path = dev.directory / "genesis.json"
    genesis = load_genesis(genesis_path)
    accounts = [*genesis.accounts, PermittedAccount(address=hospital, kind="member", balance=0)]
    genesis_path.write_text(dump_genesis(genesis.model_copy(update={"accounts": accounts})))
    chain = start_node(dev.directory, root / "chain-data")
    try:
        w3 = connect(chain.url)
        founders = [FoundingMember(account=hospital, name="County Hospital",
                                   tier=Tier.COUNTY_HOSPITAL, encryption_key=enc_key,
                                   validator_address=validator_address_of(hospital))]  # fmt: skip
        deployment = deploy_suite(w3, deployer=dev.validator, founders=founders).as_dict()
    except BaseException:
        chain.stop(signal.SIGKILL)
        raise
    config_path = write_node_config(root, rpc_url=chain.url, deployment=deployment,
                                    batch_size=batch_size, interval_s=interval_s)  # fmt: skip
    (root / "deployment.json").write_text(json.dumps(deployment))
    return ChainEnv(root, chain, deployment, hospital, config_path)
