"""Record versions on chain: an amended record is anchored as the next version of the old one.

Batches prove *that* a record existed; ``Anchors.anchorRecord`` additionally links versions
(``previousVersion``, and the contract refuses a second successor or a change of kind or
case). The contract keys a version chain by case, so an amendment needs the case id. The
first amendment of a record that was only batch-anchored anchors the original as version 1
first. Both records keep their batch anchors and proofs; the version link adds one
transaction per version with the same salted commitment and the ciphertext's CID, no PHI.
"""

from __future__ import annotations

from dataclasses import dataclass

from keys.typing import CaseId, RecordId
from node.anchor.outbox import Outbox
from node.chain import ChainClient
from node.exceptions import NodeError
from node.typing import TxHash

ZERO = bytes(32)
#: ``anchorRecord`` writes a record struct (with the CID string) and one event.
ANCHOR_RECORD_GAS = 500_000


class VersionError(NodeError):
    """A record cannot be anchored as a version (kinds differ, no case, already superseded)."""


@dataclass(frozen=True, slots=True)
class VersionLink:
    record_id: RecordId
    previous: RecordId
    tx_hash: TxHash
    block_number: int


def _on_chain(chain: ChainClient, record_id: RecordId) -> bool:
    record = chain.call(chain.contract("Anchors").functions.getRecord(record_id))
    return int(str(record[0]), 16) != 0


def _anchor(chain: ChainClient, outbox: Outbox, record_id: RecordId, *, case_id: CaseId,
            previous: bytes) -> TxHash:  # fmt: skip
    entry = outbox.entry(record_id)
    fn = chain.contract("Anchors").functions.anchorRecord(
        record_id, entry.kind.chain_code, entry.commitment(), entry.cid, case_id, previous
    )
    chain.call(fn)  # a refusal surfaces here as the decoded custom error, nothing sent
    return TxHash(bytes(chain.transact(fn, gas=ANCHOR_RECORD_GAS)["transactionHash"]))


def anchor_amendment(
    *, chain: ChainClient, outbox: Outbox, record_id: RecordId, previous: RecordId,
    case_id: CaseId,
) -> VersionLink:  # fmt: skip
    """Anchor ``record_id`` on chain as the next version of ``previous`` (same case).

    Raises
    ------
    VersionError
        The kinds differ, or no case id was given.
    ContractReverted
        The contract refused (``VersionAlreadySuperseded``, ``NotRecordOwner``, ...).
    """
    if len(case_id) != 32 or case_id == ZERO:
        raise VersionError("versions are anchored per case: give a non-zero 32-byte case id")
    if outbox.entry(record_id).kind != outbox.entry(previous).kind:
        raise VersionError("an amendment must be of the same kind as the record it amends")
    if not _on_chain(chain, previous):
        _anchor(chain, outbox, previous, case_id=case_id, previous=ZERO)
    tx = _anchor(chain, outbox, record_id, case_id=case_id, previous=previous)
    receipt = chain.wait(tx)
    return VersionLink(record_id, previous, tx, receipt["blockNumber"])
