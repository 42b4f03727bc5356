"""Offline verification of a record proof against the chain.

This is the core of ``medledger node verify RECORD``: the proof alone yields the batch root;
any node's RPC answers where that root is anchored. Nothing else is trusted: not the node
that issued the proof, nor the anchor location written in it.
"""

from __future__ import annotations

from node.anchor.abc import AnchorSinkAPI
from node.exceptions import ProofMismatch
from node.proof.record import AnchorInfo, RecordProof


def verify_on_chain(proof: RecordProof, *, chain: AnchorSinkAPI) -> AnchorInfo:
    """Recompute the batch root and find it on chain; return where it is anchored.

    Raises
    ------
    ProofMismatch
        If the root is not anchored, the DICOM instance section does not lead to the record,
        or the proof's own anchor section names another transaction or block.
    """
    root = proof.batch_root()
    found = chain.lookup(root)
    if found is None:
        raise ProofMismatch("the proof's batch root is not anchored on this chain")
    if proof.anchor is not None and proof.anchor != found:
        raise ProofMismatch("the proof names an anchor other than the one on chain")
    return found
