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
from web3.types import TxReceipt

from contracts.events import EventDecoder
from contracts.exceptions import ContractsError, TransactionFailed
from contracts.reads import SuiteReads
from contracts.tx import send
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


def send_step(
    contract_call: ContractFunction, account: LocalAccount, step: str, w3_contract: Contract
) -> TxReceipt:
    """Send one governance transaction; a revert becomes ``AdmissionError`` naming it."""
    try:
        return send(w3_contract.w3, account, contract_call)
    except TransactionFailed as exc:
        raise AdmissionError(f"{step} refused by the contract: {exc.error or exc}") from None
    except (ContractsError, Web3Exception) as exc:
        raise AdmissionError(f"{step} failed: {exc}") from None


def _record(tally: Tally, reads: SuiteReads, voter: str) -> None:
    try:
        proposal = reads.proposal(tally.proposal_id)
    except ContractsError as exc:
        raise AdmissionError(f"reading proposal {tally.proposal_id} failed: {exc}") from None
    tally.required, tally.executed = proposal.required, proposal.executed
    tally.votes.append({"voter": voter, "yes": proposal.yes, "required": tally.required})


def admit(
    contract: Contract,
    reads: SuiteReads,
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
        candidate.validator_address,
    )
    return _propose_and_carry(
        contract, reads, proposal, "proposeAdmission", subject=candidate.signing_address,
        proposer=proposer, voters=voters, on_step=on_step,
    )  # fmt: skip


def set_validator_flag(
    contract: Contract,
    reads: SuiteReads,
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
        contract, reads, contract.functions.proposeValidatorFlag(member, validator),
        "proposeValidatorFlag", subject=member,
        proposer=proposer, voters=voters, on_step=on_step,
    )  # fmt: skip


def _propose_and_carry(
    contract: Contract,
    reads: SuiteReads,
    proposal: ContractFunction,
    step: str,
    *,
    subject: str,
    proposer: LocalAccount,
    voters: list[LocalAccount],
    on_step: Callable[[Tally], None],
) -> Tally:
    """Send ``proposal`` from ``proposer``, vote it through, and note ``subject``'s status."""
    receipt = send_step(proposal, proposer, step, contract)
    tally = carry(contract, reads, receipt, proposer=proposer, voters=voters, on_step=on_step)
    try:
        tally.status = reads.member_status(subject).name.lower()
    except ContractsError as exc:
        raise AdmissionError(f"reading the status of {subject} failed: {exc}") from None
    return tally


def carry(
    contract: Contract,
    reads: SuiteReads,
    receipt: TxReceipt,
    *,
    proposer: LocalAccount,
    voters: list[LocalAccount],
    on_step: Callable[[Tally], None],
) -> Tally:
    """Vote on the proposal ``receipt`` opened until it executes or ``voters`` run out."""
    tally = Tally()
    decoder = EventDecoder(reads.raw.addresses, ("Consortium",))
    created = [
        e for e in (decoder.decode(log) for log in receipt["logs"])
        if e is not None and e.name == "ProposalCreated"
    ]  # fmt: skip
    if not created:
        raise AdmissionError("the proposal emitted no ProposalCreated event")
    tally.proposal_id = int(created[0].args["proposalId"])
    _record(tally, reads, proposer.address)
    on_step(tally)
    for voter in voters:
        if tally.executed:
            break
        send_step(contract.functions.vote(tally.proposal_id), voter, "vote", contract)
        _record(tally, reads, voter.address)
        on_step(tally)
    return tally
