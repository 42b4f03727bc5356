"""Membership votes: a member proposes, active members vote until the proposal carries.

``Consortium.proposeAdmission`` (or ``proposeValidatorFlag``) counts the proposer's
approval; each ``vote`` adds one; the vote that reaches ``required`` (the threshold share
of active members, rounded up) executes the proposal in the same transaction. Every step
is recorded as a tally row.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from eth_account.signers.local import LocalAccount
from web3.contract import Contract
from web3.contract.contract import ContractFunction
from web3.exceptions import Web3Exception
from web3.logs import DISCARD
from web3.types import TxReceipt

from contracts.exceptions import ContractsError, TransactionFailed
from contracts.tx import send
from contracts.typing import MemberStatus
from medledger.consortium.exceptions import AdmissionError
from medledger.consortium.layout import TIER_NAMES
from medledger.consortium.manifest import HospitalEntry


@dataclass(slots=True)
class Tally:
    """How the vote went: who voted, the count after each vote, and the outcome."""

    proposal_id: int = 0
    required: int = 0
    votes: list[dict[str, object]] = field(default_factory=list)
    executed: bool = False
    status: str = "none"

    def as_dict(self) -> dict[str, object]:
        return {
            "proposal_id": self.proposal_id,
            "required": self.required,
            "votes": self.votes,
            "executed": self.executed,
            "member_status": self.status,
        }


def _send(
    contract_call: ContractFunction, account: LocalAccount, step: str, w3_contract: Contract
) -> TxReceipt:
    try:
        return send(w3_contract.w3, account, contract_call)
    except TransactionFailed as exc:
        raise AdmissionError(f"{step} refused by the contract: {exc.error or exc}") from None
    except (ContractsError, Web3Exception) as exc:
        raise AdmissionError(f"{step} failed: {exc}") from None


def _record(tally: Tally, contract: Contract, voter: str) -> None:
    proposal = contract.functions.getProposal(tally.proposal_id).call()
    # Proposal(kind, subject, proposer, tier, flag, deadline, required, yes, executed)
    tally.required, yes, tally.executed = int(proposal[6]), int(proposal[7]), bool(proposal[8])
    tally.votes.append({"voter": voter, "yes": yes, "required": tally.required})


def admit(
    contract: Contract,
    *,
    candidate: HospitalEntry,
    proposer: LocalAccount,
    voters: list[LocalAccount],
    on_step: Callable[[Tally], None] = lambda _t: None,
) -> Tally:
    """Propose ``candidate`` from ``proposer``; ``voters`` vote in order until it carries.

    Raises
    ------
    AdmissionError
        A step reverted (with the contract's custom error name) or the chain failed.
    """
    proposal = contract.functions.proposeAdmission(
        candidate.signing_address,
        candidate.name,
        int(TIER_NAMES[candidate.tier]),
        bytes.fromhex(candidate.encryption_public_key[2:]),
        candidate.node_url,
        candidate.validator,
    )
    return _propose_and_carry(
        contract, proposal, "proposeAdmission", subject=candidate.signing_address,
        proposer=proposer, voters=voters, on_step=on_step,
    )  # fmt: skip


def set_validator_flag(
    contract: Contract,
    *,
    member: str,
    validator: bool,
    proposer: LocalAccount,
    voters: list[LocalAccount],
    on_step: Callable[[Tally], None] = lambda _t: None,
) -> Tally:
    """Propose flagging ``member`` as validator (or not); ``voters`` vote until it carries.

    Raises
    ------
    AdmissionError
        A step reverted (with the contract's custom error name) or the chain failed.
    """
    return _propose_and_carry(
        contract, contract.functions.proposeValidatorFlag(member, validator),
        "proposeValidatorFlag", subject=member,
        proposer=proposer, voters=voters, on_step=on_step,
    )  # fmt: skip


def _propose_and_carry(
    contract: Contract,
    proposal: ContractFunction,
    step: str,
    *,
    subject: str,
    proposer: LocalAccount,
    voters: list[LocalAccount],
    on_step: Callable[[Tally], None],
) -> Tally:
    """Send ``proposal`` from ``proposer``, vote it through, and note ``subject``'s status."""
    receipt = _send(proposal, proposer, step, contract)
    tally = carry(contract, receipt, proposer=proposer, voters=voters, on_step=on_step)
    tally.status = MemberStatus(contract.functions.statusOf(subject).call()).name.lower()
    return tally


def carry(
    contract: Contract,
    receipt: TxReceipt,
    *,
    proposer: LocalAccount,
    voters: list[LocalAccount],
    on_step: Callable[[Tally], None],
) -> Tally:
    """Vote on the proposal ``receipt`` opened until it executes or ``voters`` run out."""
    tally = Tally()
    created = contract.events.ProposalCreated().process_receipt(receipt, errors=DISCARD)
    if not created:
        raise AdmissionError("the proposal emitted no ProposalCreated event")
    tally.proposal_id = int(created[0]["args"]["proposalId"])
    _record(tally, contract, proposer.address)
    on_step(tally)
    for voter in voters:
        if tally.executed:
            break
        _send(contract.functions.vote(tally.proposal_id), voter, "vote", contract)
        _record(tally, contract, voter.address)
        on_step(tally)
    return tally
