"""The one EIP-712 domain of medledger's typed data (access tokens, grant deliveries).

Binding chain id and Grants contract makes a signature for a test chain or another
deployment worthless here; sharing the domain keeps the two types' signers and verifiers
configured by the same two values.
"""

from __future__ import annotations

from typing import Any

DOMAIN_NAME = "medledger Grants"
DOMAIN_VERSION = "1"


def domain(*, chain_id: int, grants_contract: str) -> dict[str, Any]:
    """The EIP-712 domain for ``chain_id`` and the Grants contract at ``grants_contract``."""
    return {
        "name": DOMAIN_NAME,
        "version": DOMAIN_VERSION,
        "chainId": chain_id,
        "verifyingContract": grants_contract,
    }
