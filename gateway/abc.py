"""Interfaces of the gateway: the seams the node and the chain integration fill.

The gateway's routers and services depend only on these. Tests plug in-process
implementations over real files; production plugs the node's verified store and a
web3.py view of the contracts.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import TYPE_CHECKING, BinaryIO

from node.cases.abc import BatchRootsAPI

if TYPE_CHECKING:
    from collections.abc import Collection, Sequence

    from contracts.views import AnchoredBatch
    from gateway.audit.model import Trace
    from gateway.domain import (
        Challenge,
        GrantState,
        InboxEntry,
        InstanceHeader,
        PhysicianApproval,
        PhysicianStatus,
        RecordInfo,
        Redemption,
        Session,
    )
    from gateway.timeline import Timeline
    from gateway.typing import DicomUID, PhysicianAddress, SessionDigest
    from keys.typing import CaseId, GrantId, HospitalAddress, RecordId
    from node.proof.record import RecordProof


class ChainViewAPI(BatchRootsAPI):
    """What the gateway reads from (and writes to) the chain, through the contracts.

    Its batch roots are what the node's verified reader checks granted records against
    (:class:`~node.cases.abc.BatchRootsAPI`).
    """

    @abstractmethod
    def physician_status(
        self, *, hospital: HospitalAddress, physician: PhysicianAddress
    ) -> PhysicianStatus:
        """The physician's standing at ``hospital`` in the Consortium contract, now.

        Called at sign-in and again on every authenticated request, so a suspension
        takes effect at once; implementations may cache per block, never longer.
        """

    @abstractmethod
    def grant_state(self, *, grant: GrantId) -> GrantState | None:
        """The grant and its referral at the latest final block; ``None`` if unknown.

        Read on every request that reads under the grant, so a revocation stops reading
        at once; ``ChainUnavailable`` if the chain cannot be read.
        """

    @abstractmethod
    def record_redemption(
        self, *, grant: GrantId, token: str, approval: PhysicianApproval
    ) -> Redemption:
        """Send the redemption (grantor's token, physician's signature); block until final.

        The contract re-checks every rule; a revert must surface as the matching
        ``gateway.exceptions`` refusal (``GrantExpired``, ``GrantRevoked``,
        ``GrantExhausted``, ``NotReferred``, ``WrongHospital``, ``WrongPhysician``,
        ``PhysicianSuspended``), never as a generic failure; no finality within the
        implementation's timeout raises ``ChainUnavailable`` (503). Nothing is served
        before this returns.
        """

    @abstractmethod
    def batch_anchor(self, *, root: bytes) -> AnchoredBatch | None:
        """Who anchored the Merkle batch ``root`` and in which block; ``None`` if nobody did.

        A batch-anchored record is served only once its inclusion proof leads to a root
        this returns, anchored by the record's grantor. A final anchor never changes (BFT
        finality), so implementations may cache found roots for good, but must re-read an
        absent one; ``ChainUnavailable`` if the chain cannot be read.
        """


class CaseStoreAPI(ABC):
    """Records and DICOM instances of redeemed grants, verified before release.

    Every method takes the grants the caller may read and must return nothing outside
    them: an id that exists under another grant is reported exactly like an absent one.
    """

    @abstractmethod
    def list_records(self, *, grants: Collection[GrantId]) -> Sequence[RecordInfo]:
        """Every record covered by ``grants``, in anchoring order."""

    @abstractmethod
    def open_record(self, *, grants: Collection[GrantId], record: RecordId) -> BinaryIO:
        """The record's plaintext, already re-hashed and matched to its anchor.

        Returns a readable binary file positioned at 0 whose *whole* content has been
        verified (decrypt to a spool, hash, compare, then hand over); the caller closes
        it. Raises ``NotFound`` outside ``grants`` and ``IntegrityError`` on mismatch.
        """

    @abstractmethod
    def list_instances(
        self,
        *,
        grants: Collection[GrantId],
        study: DicomUID | None = None,
        series: DicomUID | None = None,
        sop: DicomUID | None = None,
    ) -> Sequence[InstanceHeader]:
        """Headers of the DICOM instances covered by ``grants``, narrowed by the UIDs given.

        Ordered by study, series, instance number, so paging (``offset``) is stable.
        """

    @abstractmethod
    def open_instance(
        self,
        *,
        grants: Collection[GrantId],
        study: DicomUID,
        series: DicomUID,
        sop: DicomUID,
    ) -> BinaryIO:
        """The instance's Part 10 bytes as stored, verified as in :meth:`open_record`."""


class InboxAPI(ABC):
    """Grants the hospital's node received by signed delivery (issue 15: no token copying)."""

    @abstractmethod
    def entries(self) -> Sequence[InboxEntry]:
        """Every delivered grant, newest delivery first, with uses left read on chain.

        Raises ``ChainUnavailable`` when the chain cannot be read.
        """


class SessionStoreAPI(ABC):
    """Sign-in challenges and sessions, server-side. Holds token digests, never tokens."""

    @abstractmethod
    def put_challenge(self, challenge: Challenge, *, now: float) -> None:
        """Remember a freshly issued challenge until it expires.

        Anyone may ask for challenges, so the store must bound what it keeps (purge
        expired ones, cap the rest) rather than grow with every request.
        """

    @abstractmethod
    def take_challenge(self, nonce: bytes, *, now: float) -> Challenge:
        """Consume the challenge atomically: a second call with the same nonce fails.

        Raises ``ChallengeUnknown`` (never issued, or purged after expiry),
        ``ChallengeUsed`` (taken before) or ``ChallengeExpired``.
        """

    @abstractmethod
    def put_session(self, session: Session) -> None:
        """Store a new session under its digest."""

    @abstractmethod
    def get_session(self, digest: SessionDigest, *, now: float) -> Session:
        """The live session with this digest; ``InvalidSession`` if unknown or expired."""

    @abstractmethod
    def add_grant(self, digest: SessionDigest, grant: GrantId) -> Session:
        """Record that ``grant`` was redeemed in this session; returns the new session."""

    @abstractmethod
    def end_session(self, digest: SessionDigest) -> None:
        """Forget the session (logout, suspension). Unknown digests are ignored."""


class AuditSourceAPI(ABC):
    """The story of a case, rebuilt from chain events alone (read-only)."""

    @abstractmethod
    def case_timeline(self, *, case: CaseId) -> Timeline | None:
        """Every event about ``case`` in chain order; ``None`` if the chain never saw it."""


class AuditTrailAPI(ABC):
    """Traces rebuilt from chain events, plus who may read them (read-only, no plaintext)."""

    @abstractmethod
    def trace_record(
        self, *, record: bytes, proof: RecordProof | None = None, check_ciphertext: bool = False
    ) -> Trace:
        """The record's anchors (version chain or batch) and its case's story.

        ``check_ciphertext`` streams every anchored CID through the blob store (each block
        re-hashed); ``UnknownSubject`` if the chain never saw the record.
        """

    @abstractmethod
    def trace_case(self, *, case: bytes, check_ciphertext: bool = False) -> Trace:
        """Every event about ``case``; ``UnknownSubject`` if none."""

    @abstractmethod
    def trace_grant(self, *, grant: int, check_ciphertext: bool = False) -> Trace:
        """A grant's issue or break-glass, redemptions, revocation and referral states."""

    @abstractmethod
    def is_auditor(self, address: str) -> bool:
        """Whether ``Consortium`` lists ``address`` as an auditor at the latest block.

        Asked at sign-in and on every request, so a removed auditor is refused at once.
        """


class BreakGlassChainAPI(ABC):
    """``Grants.breakGlass`` and ``redeemBreakGlass`` for the gateway's physicians.

    The contract takes the opening physician as the sender of ``breakGlass`` (the gateway
    operator cannot open on their behalf), so the gateway prepares the transaction, the
    physician signs it, and the gateway relays it; the redemption is then sent by the
    operator with the physician's signed ``Redemption``, like any opening.
    """

    @abstractmethod
    def prepare(self, *, physician: PhysicianAddress, case: CaseId, grantor: HospitalAddress,
                reason_code: int, duration: int, max_uses: int) -> dict[str, object]:  # fmt: skip
        """The unsigned transaction to sign, after a dry run from the physician.

        A refusal the dry run shows is raised before anything is signed: ``NotUpperTier``
        (403), ``BreakGlassRateLimited`` (429), ``BadRequest`` for a bad reason or duration.
        """

    @abstractmethod
    def submit(self, *, physician: PhysicianAddress, raw_transaction: bytes) -> int:
        """Relay the physician's signed ``breakGlass``; block until final; the grant id.

        Raises ``BadRequest`` unless the transaction is that physician's ``breakGlass`` to
        this Grants contract, and the contract's refusal when it reverts.
        """

    @abstractmethod
    def redeem(self, *, grant: GrantId, approval: PhysicianApproval) -> Redemption:
        """``redeemBreakGlass`` with the physician's signature; block until final."""
