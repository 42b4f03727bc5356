"""The demo's consortium: four hospitals on loopback, their staff, their processes.

Everything is what an operator would run: ``consortium init``'s writer, the process table
(``medledger.processes``) through :class:`~medledger.consortium.local.LocalConsortium`, the suite
deployed by the manifest's deployer, staff registered by each hospital's own account.
Every hospital validates: four BFT validators on loopback, each hospital's node and
gateway on its own validator's JSON-RPC, with ``consortium init``'s short loopback
timeouts (``--fast-consensus``, written into each ``ledger.json``). Demo-only choices, all
throwaway: low KDF costs and a fixed passphrase. The gateway operators that send the
redemption transactions are registered by their hospitals in the ``Consortium`` contract,
which the chain's permissions follow.
"""

from __future__ import annotations

import random
import socket
from dataclasses import dataclass, field
from pathlib import Path

from eth_account import Account
from eth_account.signers.local import LocalAccount
from web3.contract import Contract
from web3.logs import DISCARD

from contracts.deploy import connect, contract_at
from contracts.tx import send, submit, wait
from contracts.typing import Role
from keys.keystore import Keystore
from medledger.consortium.chain import deploy, unlock
from medledger.consortium.hospital import OPERATOR_DIR, Kdf
from medledger.consortium.layout import Network, plan_hospitals
from medledger.consortium.manifest import HospitalEntry, Manifest
from medledger.consortium.staff import licence_hash, register_operators
from medledger.consortium.writer import init_consortium

PASSPHRASE = "medledger-demo-throwaway-passphrase"
DEMO_KDF = Kdf(scrypt_n=2**4, pbkdf2_iterations=1000)
TIERS = ("village", "township", "county", "tertiary")
ROLE_PHYSICIAN = int(Role.PHYSICIAN)
#: Where demo ports are drawn from: above the well-known and common service ports, below
#: the ephemeral range (see :func:`free_base_port`).
LOWEST_PORT = 20_000
EPHEMERAL_RANGE = Path("/proc/sys/net/ipv4/ip_local_port_range")
#: Gas of a vote, enough for the one that executes an AddAuditor proposal.
VOTE_GAS = 400_000


def free_base_port(span: int = 40) -> int:
    """A base port whose next ``span`` ports were free a moment ago (loopback only).

    Drawn below the kernel's ephemeral range: a port inside it can be taken, between this
    check and the process's bind, as the source port of any outgoing connection on the
    machine (the validators dial each other, healthchecks poll), which made a validator
    fail to bind now and then.
    """
    low = _ephemeral_low()
    for _ in range(200):
        base = random.randrange(LOWEST_PORT, low - span)
        if all(_free(base + i) for i in range(span)):
            return base
    raise RuntimeError(f"no free range of {span} loopback ports below {low}")


def _ephemeral_low() -> int:
    """The first port of the kernel's ephemeral range (Linux's default where unreadable)."""
    try:
        low = int(EPHEMERAL_RANGE.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768
    return low if low > LOWEST_PORT + 1000 else 32768


def _free(port: int) -> bool:
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


@dataclass
class DemoConsortium:
    """The written consortium and the demo's people (physician keys are generated here)."""

    directory: Path
    manifest: Manifest
    operators: dict[str, LocalAccount]
    physicians: dict[str, LocalAccount] = field(default_factory=dict)
    #: A regulator's key: voted in as the consortium's auditor, never a member or staff.
    auditor: LocalAccount = field(default_factory=Account.create)

    def hospital(self, tier: str) -> HospitalEntry:
        return next(h for h in self.manifest.hospitals if h.tier == tier)

    def node_token(self, tier: str) -> str:
        path = self.directory / self.hospital(tier).directory / "node-api.token"
        return path.read_text().strip()


def write_consortium(directory: Path) -> DemoConsortium:
    """``consortium init`` for the four tiers (which writes each hospital's operator keystore)."""
    plans = plan_hospitals(4, tiers=TIERS, base_port=free_base_port())
    manifest = init_consortium(directory, plans, passphrase=PASSPHRASE, network=Network.loopback,
                               fast_consensus=True, kdf=DEMO_KDF)  # fmt: skip
    physicians = {tier: Account.create() for tier in ("county", "tertiary")}
    return DemoConsortium(directory, manifest, operator_accounts(directory, manifest), physicians)


def operator_accounts(directory: Path, manifest: Manifest) -> dict[str, LocalAccount]:
    """Each hospital's gateway operator, by tier, from the keystore ``consortium init`` wrote."""
    return {h.tier: Keystore.open(directory / h.directory / OPERATOR_DIR)
            .load_signing_key(PASSPHRASE).account for h in manifest.hospitals}  # fmt: skip


def deploy_suite_of(demo: DemoConsortium) -> dict[str, str]:
    first = demo.manifest.hospitals[0]
    w3 = connect(first.rpc_url, timeout_s=30.0)
    addresses, _ = deploy(w3, demo.manifest, unlock(demo.directory, first, PASSPHRASE))
    return addresses


def _consortium(demo: DemoConsortium) -> Contract:
    w3 = connect(demo.manifest.hospitals[0].rpc_url, timeout_s=30.0)
    return contract_at(
        w3, "Consortium", w3.to_checksum_address(demo.manifest.contracts["consortium"])
    )


def register_staff(demo: DemoConsortium) -> list[str]:
    """Each hospital registers its gateway operator, then county and tertiary a physician.

    The operators go through ``consortium deploy``'s own code (``register_operators``).
    The physicians' transactions are sent before any is waited for (each hospital numbers
    its own), so they commit together in a block instead of one block each.
    """
    consortium = _consortium(demo)
    w3 = consortium.w3
    operators = register_operators(
        consortium, directory=demo.directory, manifest=demo.manifest, passphrase=PASSPHRASE
    )
    done = [f"{slug}: operator" for slug in operators]
    sent = []
    for h in demo.manifest.hospitals:
        if h.tier not in demo.physicians:
            continue
        hospital = unlock(demo.directory, h, PASSPHRASE)
        account = demo.physicians[h.tier]
        licence, _salt = licence_hash(f"demo-licence:{account.address}")
        call = consortium.functions.registerStaff(account.address, ROLE_PHYSICIAN, licence)
        sent.append(submit(w3, hospital, call))
        done.append(f"{h.slug}: physician")
    for tx_hash in sent:
        wait(w3, tx_hash)
    return done


def elect_auditor(demo: DemoConsortium) -> str:
    """The village clinic proposes the auditor's key; just enough members vote to carry it.

    The votes are sent together; one beyond the threshold would revert (the proposal is
    executed by the vote that reaches it). Their gas is fixed, not estimated: estimated
    together, each would be priced as a vote that does not execute the proposal.
    """
    consortium = _consortium(demo)
    w3 = consortium.w3
    members = [unlock(demo.directory, h, PASSPHRASE) for h in demo.manifest.hospitals]
    receipt = send(w3, members[0], consortium.functions.proposeAuditor(demo.auditor.address, True))
    created = consortium.events.ProposalCreated().process_receipt(receipt, errors=DISCARD)
    proposal = int(created[0]["args"]["proposalId"])
    # Proposal(kind, subject, proposer, tier, flag, deadline, required, yes, executed)
    required = int(consortium.functions.getProposal(proposal).call()[6])
    votes = [submit(w3, m, consortium.functions.vote(proposal), gas=VOTE_GAS)
             for m in members[1:required]]  # fmt: skip
    for tx_hash in votes:
        wait(w3, tx_hash)
    if not consortium.functions.isAuditor(demo.auditor.address).call():
        raise RuntimeError(f"proposal {proposal} did not make the key an auditor")
    return f"proposal {proposal} carried with {1 + len(votes)} of {len(members)} members' votes"
