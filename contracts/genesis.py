"""What a genesis builder needs to install the Consortium with the founding members.

The founders live in the Consortium's storage, written by its constructor, so a genesis
installs the contract by running this creation code once (from a fixed deployer at a
fixed nonce, whose CREATE address is then known in advance) rather than by copying code.
"""

from __future__ import annotations

from collections.abc import Sequence

from eth_abi.abi import encode

from contracts.artifacts import load_artifact
from contracts.deploy import FoundingMember, SuiteConfig

#: The Consortium constructor's ABI types, in order.
_CTOR_TYPES = ["(address,string,uint8,bytes,string,bool,address)[]", "address[]", "uint8", "uint64"]


def consortium_creation_code(
    founders: Sequence[FoundingMember], config: SuiteConfig | None = None
) -> bytes:
    """Creation bytecode + ABI-encoded constructor arguments of the Consortium."""
    cfg = config or SuiteConfig()
    args = [
        [f.as_tuple() for f in founders],
        list(cfg.auditors),
        cfg.vote_threshold_percent,
        cfg.voting_period_s,
    ]
    return load_artifact("Consortium").bytecode + encode(_CTOR_TYPES, args)
