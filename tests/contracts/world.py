"""A small consortium deployed on a test chain: five hospitals, staff, an auditor, an outsider."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

from eth_account import Account
from eth_account.signers.local import LocalAccount
from eth_utils.crypto import keccak
from web3 import Web3
from web3.contract import Contract
from web3.contract.contract import ContractFunction
from web3.exceptions import ContractCustomError, ContractLogicError
from web3.logs import DISCARD
from web3.types import TxReceipt

from contracts.deploy import (
    Deployment,
    FoundingMember,
    SuiteConfig,
    connect,
    contract_at,
    deploy_suite,
)
from contracts.errors import decode_revert
from contracts.tx import revert_data, submit, wait
from contracts.typing import Role, Tier
from keys.typed_data import NO_TOKEN, access_grant_signable, redemption_signable
from tests.contracts.backends import Chain
from tests.devchain import register_staff

#: Account roles, in key order. Hospitals: village, township, county (x2), tertiary.
NAMES = (
    "deployer",
    "village",
    "township",
    "county",
    "county2",
    "tertiary",
    "doc_village",
    "doc_county",
    "doc_county2",
    "doc_tertiary",
    "op_county",
    "auditor",
    "outsider",
    "candidate",
    "spare1",
    "spare2",
    "doc_township",
)
HOSPITALS = {
    "village": Tier.VILLAGE_CLINIC,
    "township": Tier.TOWNSHIP_HEALTH_CENTRE,
    "county": Tier.COUNTY_HOSPITAL,
    "county2": Tier.COUNTY_HOSPITAL,
    "tertiary": Tier.TERTIARY_HOSPITAL,
}
STAFF = {
    "doc_village": ("village", Role.PHYSICIAN),
    "doc_township": ("township", Role.PHYSICIAN),
    "doc_county": ("county", Role.PHYSICIAN),
    "doc_county2": ("county2", Role.PHYSICIAN),
    "doc_tertiary": ("tertiary", Role.PHYSICIAN),
    "op_county": ("county", Role.OPERATOR),
}
#: Gas limit of every test transaction: above any operation's need (max ~0.3M).
TEST_GAS = 1_500_000
#: Test governance: 3 of 5 founders carry a vote (60% rounded up).
CONFIG_THRESHOLD = 60


def licence_hash(name: str) -> bytes:
    """A salted hash of a (made-up) licence number, as a hospital would register."""
    return keccak(os.urandom(16) + f"LIC-{name}".encode())


def rand32() -> bytes:
    return os.urandom(32)


@dataclass
class World:
    chain: Chain
    w3: Web3
    acct: dict[str, LocalAccount]
    deployment: Deployment
    consortium: Contract
    anchors: Contract
    referrals: Contract
    grants: Contract
    snapshot: Any = field(default=None)

    def addr(self, name: str) -> str:
        return self.acct[name].address

    def tx(self, actor: str, fn: ContractFunction) -> TxReceipt:
        # A fixed gas limit skips the estimate round trip (gas is free on both test chains).
        return wait(self.w3, submit(self.w3, self.acct[actor], fn, gas=TEST_GAS))

    def error_of(self, actor: str, fn: ContractFunction) -> tuple[str, tuple[Any, ...]]:
        """Simulate ``fn`` from ``actor`` (eth_call) and return the decoded custom error.

        Raises AssertionError when the call does not revert or reverts without a known error.
        """
        try:
            fn.call({"from": self.addr(actor)})
        except (ContractCustomError, ContractLogicError) as exc:
            err = decode_revert(revert_data(exc))
            assert err is not None, f"reverted without a known custom error: {exc!r}"
            return err.name, err.args
        raise AssertionError("call did not revert")

    def expect(self, actor: str, fn: ContractFunction, error: str) -> tuple[Any, ...]:
        """Assert ``fn`` from ``actor`` reverts with custom error ``error``; return its args.

        Checked twice: by simulation (which names the error), and by a real transaction
        that must be mined in a block with status 0 (so the rule holds on chain, not only
        in ``eth_call``).
        """
        name, args = self.error_of(actor, fn)
        assert name == error, f"expected {error}, got {name}{args}"
        tx_hash = submit(self.w3, self.acct[actor], fn, gas=TEST_GAS)
        receipt = self.w3.eth.wait_for_transaction_receipt(tx_hash, timeout=60, poll_latency=0.02)
        assert receipt["status"] == 0, f"transaction succeeded, expected {error}"
        return args

    def unknown_referral(self) -> int:
        """An id no referral has (yet): worlds may be shared between tests."""
        return int(self.referrals.functions.referralCount().call()) + 1

    def unknown_grant(self) -> int:
        return int(self.grants.functions.grantCount().call()) + 1

    def now(self) -> int:
        ts: int = self.w3.eth.get_block("latest")["timestamp"]
        return ts

    def later(self, seconds: int | None = None) -> int:
        """An expiry comfortably in the future (a day), or ``seconds`` from now."""
        return self.now() + (seconds if seconds is not None else 86400)

    def events(self, receipt: TxReceipt, contract: Contract, event: str) -> list[Any]:
        logs = getattr(contract.events, event)().process_receipt(receipt, errors=DISCARD)
        return list(logs)

    def one_event(self, receipt: TxReceipt, contract: Contract, event: str) -> Any:
        logs = self.events(receipt, contract, event)
        assert len(logs) == 1, f"expected one {event}, got {len(logs)}"
        return logs[0]["args"]

    # ------------------------------------------------------------ common stories

    def refer(
        self,
        frm: str,
        to: str,
        *,
        case: bytes | None = None,
        expires: int | None = None,
        accept: bool = True,
    ) -> tuple[int, bytes]:
        case = case or rand32()
        r = self.tx(
            frm, self.referrals.functions.initiate(case, self.addr(to), 7, expires or self.later())
        )
        rid = int(self.one_event(r, self.referrals, "ReferralInitiated")["referralId"])
        if accept:
            self.tx(to, self.referrals.functions.accept(rid))
        return rid, case

    def grant(
        self,
        frm: str,
        rid: int,
        to: str,
        *,
        physician: str | None = None,
        expires: int | None = None,
        uses: int = 3,
    ) -> int:
        phys = self.addr(physician) if physician else "0x" + "00" * 20
        r = self.tx(
            frm,
            self.grants.functions.issue(
                rid, self.addr(to), phys, rand32(), expires or self.later(3600), uses
            ),
        )
        return int(self.one_event(r, self.grants, "GrantIssued")["grantId"])

    # ------------------------------------------------------------ signed redemptions

    def name_of(self, address: str) -> str:
        return next(n for n, a in self.acct.items() if a.address.lower() == address.lower())

    def token(
        self, gid: int, *, signer: str | None = None, nonce: bytes | None = None, **change: Any
    ) -> tuple[tuple[Any, ...], bytes]:
        """Grant ``gid``'s access token as its grantor (or ``signer``) signs it.

        ``change`` overrides token fields (``grantId``, ``caseId``, ``grantee``,
        ``scopeRoot``, ``expiry``) to forge one that no longer matches the grant.
        """
        g = self.grants.functions.getGrant(gid).call()
        fields: dict[str, Any] = {
            "grantId": gid.to_bytes(32, "big"), "caseId": g[1], "grantee": g[3],
            "scopeRoot": g[5], "expiry": g[6], "nonce": nonce or rand32(), **change,
        }  # fmt: skip
        signable = access_grant_signable(
            chain_id=self.w3.eth.chain_id, grants_contract=self.grants.address,
            grant_id=fields["grantId"], case_id=fields["caseId"], grantee=fields["grantee"],
            scope_root=fields["scopeRoot"], expiry=fields["expiry"], nonce=fields["nonce"],
        )  # fmt: skip
        grantor = g[2] if int(g[2], 16) else self.addr("village")  # unknown grant: any key
        key = self.acct[signer or self.name_of(grantor)]
        signature = bytes(key.sign_message(signable).signature)
        return tuple(fields.values()), signature

    def approval(
        self,
        gid: int,
        physician: str,
        *,
        token_nonce: bytes = NO_TOKEN,
        nonce: bytes | None = None,
        deadline: int | None = None,
        signer: str | None = None,
    ) -> tuple[Any, ...]:
        """The physician's signed ``Redemption`` (signed by ``signer`` to forge one)."""
        nonce = nonce or rand32()
        deadline = deadline if deadline is not None else self.now() + 3600
        signable = redemption_signable(
            chain_id=self.w3.eth.chain_id, grants_contract=self.grants.address, grant_id=gid,
            token_nonce=token_nonce, nonce=nonce, deadline=deadline,
        )  # fmt: skip
        signature = bytes(self.acct[signer or physician].sign_message(signable).signature)
        return (self.addr(physician), nonce, deadline, signature)

    def redeem(
        self,
        gid: int,
        physician: str,
        *,
        nonce: bytes | None = None,
        deadline: int | None = None,
        token_nonce: bytes | None = None,
        token_signer: str | None = None,
        physician_signer: str | None = None,
        **token_change: Any,
    ) -> ContractFunction:
        """``Grants.redeem`` with a valid token and physician signature unless told otherwise."""
        token, token_sig = self.token(gid, signer=token_signer, nonce=token_nonce, **token_change)
        approval = self.approval(
            gid, physician, token_nonce=token[5], nonce=nonce, deadline=deadline,
            signer=physician_signer,
        )  # fmt: skip
        return self.grants.functions.redeem(gid, token, token_sig, approval)

    def redeem_break_glass(
        self,
        gid: int,
        physician: str,
        *,
        nonce: bytes | None = None,
        deadline: int | None = None,
        signer: str | None = None,
    ) -> ContractFunction:
        approval = self.approval(gid, physician, nonce=nonce, deadline=deadline, signer=signer)
        return self.grants.functions.redeemBreakGlass(gid, approval)

    def vote_through(self, proposer: str, fn: ContractFunction, voters: tuple[str, ...]) -> int:
        """Open a proposal and have ``voters`` approve it; return the proposal id."""
        r = self.tx(proposer, fn)
        pid = int(self.one_event(r, self.consortium, "ProposalCreated")["proposalId"])
        for v in voters:
            self.tx(v, self.consortium.functions.vote(pid))
        return pid

    def suspend(self, member: str) -> None:
        voters = [h for h in HOSPITALS if h != member][:3]
        self.vote_through(
            voters[0],
            self.consortium.functions.proposeSuspension(self.addr(member)),
            tuple(voters[1:]),
        )


def validator_accounts() -> dict[str, LocalAccount]:
    """Each hospital's validator key (``val_<hospital>``): not a chain account, never funded.

    Only ever the ``from`` of simulated calls: a validator key must not act as a member.
    """
    return {
        f"val_{h}": Account.from_key(keccak(text=f"medledger-contracts-validator-{h}"))
        for h in (*HOSPITALS, "candidate", "spare1", "spare2")
    }


def build_world(
    chain: Chain, *, voting_period_s: int = 86400, break_glass_limit: int = 1000
) -> World:
    """Deploy the suite with five founding hospitals and register their staff."""
    w3 = connect(chain.rpc_url)
    acct = {name: Account.from_key(key) for name, key in zip(NAMES, chain.keys, strict=False)}
    acct.update(validator_accounts())
    founders = [
        FoundingMember(
            account=acct[h].address,
            name=f"{h} hospital",
            tier=tier,
            encryption_key=keccak(text=f"x25519-{h}"),
            validator_address=acct[f"val_{h}"].address,
            endpoint=f"http://127.0.0.1:0/{h}",
            validator=h in ("county", "tertiary"),
        )
        for h, tier in HOSPITALS.items()
    ]
    cfg = SuiteConfig(
        vote_threshold_percent=CONFIG_THRESHOLD,
        voting_period_s=voting_period_s,
        max_break_glass_s=3600,
        # Roomy for the shared worlds; the limit itself is tested on its own deployment.
        break_glass_limit=break_glass_limit,
        break_glass_window_s=86400,
        auditors=(acct["auditor"].address,),
    )
    dep = deploy_suite(w3, deployer=acct["deployer"], founders=founders, config=cfg)
    world = World(
        chain=chain,
        w3=w3,
        acct=acct,
        deployment=dep,
        consortium=contract_at(w3, "Consortium", dep.consortium),
        anchors=contract_at(w3, "Anchors", dep.anchors),
        referrals=contract_at(w3, "Referrals", dep.referrals),
        grants=contract_at(w3, "Grants", dep.grants),
    )
    register_staff(
        w3,
        world.consortium,
        [(acct[h], world.addr(s), role, licence_hash(s)) for s, (h, role) in STAFF.items()],
    )
    return world
