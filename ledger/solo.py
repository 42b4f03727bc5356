"""The single validator: the consensus code of a consortium, deciding alone.

DESIGN.md: "With one validator the same code commits alone." A lone validator's block is
decided by a :class:`ConsensusDriver` (and its :class:`TendermintMachine`) exactly as in a
consortium; only the network is missing. The driver proposes the block built from the
mempool, prevotes and precommits it, and with all the voting power in its own votes it
decides inside :meth:`ConsensusDriver.start`: there is nobody to wait for, so no timeout
is ever waited on and a block costs three signatures (proposal, prevote, precommit). The
commit is the decision's precommits (:func:`ledger.consensus.build_commit`): one seal,
byte for byte what a follower verifies in the next header's extraData with the same
:func:`ledger.seal.verify_commit` as for n validators.

Nothing is checkpointed: the votes reach nobody before the block is committed (in one
LMDB transaction), so a crash leaves either the committed block or no trace anywhere, and
a restarted validator proposes afresh at the same height.

A set of more than one validator (a newcomer admitted by the Consortium) or one this key
is not in does not decide here: :func:`commit_alone` raises
:class:`~ledger.exceptions.InsufficientVotingPower`, and the node must run with its peers.
"""

from __future__ import annotations

from eth.abc import BlockAPI

from ledger.abc import Commit
from ledger.consensus import ConsensusDriver, Decide, SignerAPI, ValidatorSet, build_commit
from ledger.exceptions import InsufficientVotingPower
from ledger.typing import Hash32


def commit_alone(
    block: BlockAPI, *, chain_id: int, validators: ValidatorSet, signer: SignerAPI
) -> Commit:
    """Run one height of consensus on ``block`` with no peers; return its commit.

    Raises
    ------
    InsufficientVotingPower
        ``signer``'s votes alone are not a quorum of ``validators`` (the height does not
        decide without the others).
    """
    value = Hash32(block.hash)

    def get_value(height: int, round_: int) -> Hash32:
        return value  # built already: an empty build is not proposed at all

    def is_valid(height: int, candidate: Hash32) -> bool:
        return candidate == value and height == block.number

    driver = ConsensusDriver(
        chain_id=chain_id,
        height=block.number,
        validators=validators,
        signer=signer,
        get_value=get_value,
        is_valid=is_valid,
    )
    for output in driver.start():
        if isinstance(output, Decide):
            return build_commit(output)
    raise InsufficientVotingPower(
        f"0x{signer.address.hex()} alone holds no quorum of the"
        f" {len(validators)} validators of height {block.number}"
    )
