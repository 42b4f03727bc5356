"""The node's chain client: :class:`contracts.client.ChainClient` raising node errors.

The binding signs, sends and decodes; the node only says which of its classes each failure
is. A revert whose meaning the node reacts to (``contracts.refusals``) gets its own class;
any other is :class:`~node.exceptions.ContractReverted` naming the custom error.
"""

from __future__ import annotations

from contracts import client
from contracts.refusals import Refusal, meaning
from node import exceptions as errors

#: Meanings the node reacts to; the rest are ``ContractReverted``.
_REVERT_CLASSES: dict[Refusal, type[errors.ContractReverted]] = {
    Refusal.ALREADY_ANCHORED: errors.BatchAlreadyAnchored,
    Refusal.NOT_ACTIVE_MEMBER: errors.NotActiveMember,
}


class ChainClient(client.ChainClient):
    """One hospital's view of the chain (see :class:`contracts.client.ChainClient`)."""

    unavailable_error = errors.ChainUnavailable
    refused_error = errors.ChainError
    timeout_error = errors.TransactionTimeout

    def reverted_error(
        self, message: str, *, error: str | None = None, args: tuple[object, ...] = ()
    ) -> errors.ContractReverted:
        refusal = meaning(error)
        cls = _REVERT_CLASSES.get(refusal, errors.ContractReverted) if refusal else None
        return (cls or errors.ContractReverted)(message, error=error, args=args)
