"""The audit trail over a live chain: traces, ciphertext checks, the auditor registry."""

from __future__ import annotations

from web3 import Web3

from contracts.exceptions import ChainError
from contracts.reads import SuiteReads
from contracts.rpc import RawReader
from contracts.typing import SuiteAddresses
from gateway.abc import AuditSourceAPI, AuditTrailAPI
from gateway.audit.ciphertext import check_ciphertexts
from gateway.audit.errors import AuditChainUnavailable, UnknownSubject
from gateway.audit.events import EventReader
from gateway.audit.model import Trace
from gateway.audit.tracer import Tracer
from gateway.timeline import Timeline, TimelineEvent
from keys.typing import CaseId
from node.blobstore.abc import BlobStoreAPI
from node.proof.record import RecordProof


class ChainAuditTrail(AuditTrailAPI, AuditSourceAPI):
    """Reads the suite's events through web3.py; checks CIDs in ``blobs`` when asked.

    Also the gateway's :class:`~gateway.abc.AuditSourceAPI`, so the auditor's case page
    shows the same events as the JSON traces.
    """

    def __init__(
        self,
        w3: Web3,
        deployment: SuiteAddresses,
        *,
        from_block: int = 0,
        blobs: BlobStoreAPI | None = None,
    ) -> None:
        self.tracer = Tracer(EventReader(w3, deployment, from_block=from_block))
        self.blobs = blobs
        self._reads = SuiteReads(RawReader(w3, deployment))

    def _checked(self, trace: Trace, check: bool) -> Trace:
        if not check:
            return trace
        if self.blobs is None:
            raise AuditChainUnavailable("no blob store is configured for ciphertext checks")
        return trace.model_copy(update={"ciphertext": check_ciphertexts(trace.events, self.blobs)})

    def trace_record(
        self, *, record: bytes, proof: RecordProof | None = None, check_ciphertext: bool = False
    ) -> Trace:
        return self._checked(self.tracer.trace_record(record, proof=proof), check_ciphertext)

    def trace_case(self, *, case: bytes, check_ciphertext: bool = False) -> Trace:
        return self._checked(self.tracer.trace_case(case), check_ciphertext)

    def trace_grant(self, *, grant: int, check_ciphertext: bool = False) -> Trace:
        return self._checked(self.tracer.trace_grant(grant), check_ciphertext)

    def is_auditor(self, address: str) -> bool:
        try:
            return self._reads.is_auditor(address)
        except (ChainError, ValueError) as exc:
            raise AuditChainUnavailable(f"cannot read the auditor registry: {exc}") from exc

    def case_timeline(self, *, case: CaseId) -> Timeline | None:
        try:
            trace = self.tracer.trace_case(case)
        except UnknownSubject:
            return None
        return Timeline(
            case=trace.id,
            events=[
                TimelineEvent(
                    kind=e.kind, block=e.block, tx=e.tx, actor=e.actor, time=e.time,
                    detail=e.summary,
                )
                for e in trace.events
            ],
        )  # fmt: skip
