"""The disclosure-log heads on the real chain: ``Anchors.anchorDisclosureHead`` and its events.

Sent with the gateway operator's account (the contract accepts the hospital or one of its
active operators); read back from ``DisclosureHeadAnchored`` logs, so an auditor's view of
the anchors comes from the chain, not from the gateway's memory.
"""

from __future__ import annotations

from collections.abc import Sequence

from contracts.client import ChainClient
from contracts.exceptions import ChainError
from gateway.audit.errors import AuditChainUnavailable
from gateway.audit.events import EventReader
from gateway.disclosure.abc import AnchoredHead, HeadAnchorAPI
from gateway.disclosure.exceptions import AnchorFailed

EVENT = "DisclosureHeadAnchored"
ANCHOR_GAS = 200_000


class ChainHeadAnchor(HeadAnchorAPI):
    """One hospital's disclosure heads on chain; ``client`` ``None``: read-only."""

    def __init__(self, *, hospital: str, events: EventReader, client: ChainClient | None) -> None:
        self.hospital = hospital
        self.events = events
        self.client = client

    def anchor(self, *, head: bytes, count: int) -> AnchoredHead:
        if self.client is None or self.client.account is None:
            raise AnchorFailed("no operator account: the gateway cannot send anchors")
        fn = self.client.contract("Anchors").functions.anchorDisclosureHead(
            self.hospital, head, count
        )
        try:
            receipt = self.client.transact(fn, gas=ANCHOR_GAS)
        except ChainError as exc:
            raise AnchorFailed(f"anchor of {count} entries failed: {exc}") from None
        tx = "0x" + bytes(receipt["transactionHash"]).hex()
        for anchored in reversed(self.anchored()):
            if anchored.tx == tx:
                return anchored
        raise AnchorFailed(f"anchor transaction {tx} emitted no {EVENT}")  # pragma: no cover

    def anchored(self) -> Sequence[AnchoredHead]:
        try:
            found = self.events.query([EVENT], topics={1: self.hospital},
                                      to_block=self.events.head())  # fmt: skip
        except AuditChainUnavailable as exc:
            raise AnchorFailed(str(exc)) from None
        return [
            AnchoredHead(
                head=bytes.fromhex(str(e.args["head"]).removeprefix("0x")),
                count=int(e.args["count"]), seq=int(e.args["seq"]), block=e.block_number,
                tx=e.tx_hash, operator=str(e.args["operator"]),
            )
            for e in found
        ]  # fmt: skip
