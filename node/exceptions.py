"""Errors of the node package; every one derives from :class:`NodeError`.

One class per failure, so callers (the CLI, the gateway, tests) can tell them apart without
parsing messages. Messages never contain patient identifiers, keys or payload bytes.
"""

from __future__ import annotations


class NodeError(Exception):
    """Root of every error raised by the node package."""


# --- ingest: bad input is refused before anything is stored -------------------------------


class IngestError(NodeError):
    """An input was refused; nothing was stored, wrapped or queued for it."""


class PayloadTooLarge(IngestError):
    """The input exceeds a configured size limit."""


class InvalidFhir(IngestError):
    """The input is not valid FHIR R4 JSON (syntax, structure or a required binding)."""


class UnsupportedFhirResource(InvalidFhir):
    """The ``resourceType`` is unknown to the FHIR models we validate against."""


class PatientUnresolved(IngestError):
    """The record names no patient, several patients, or not the one the caller gave."""


class InvalidDicom(IngestError):
    """A file is not a well-formed DICOM Part 10 instance."""


class NotDicom(InvalidDicom):
    """A file has no DICOM preamble/``DICM`` prefix (or cannot be parsed at all)."""


class MissingDicomUid(InvalidDicom):
    """An instance lacks StudyInstanceUID, SeriesInstanceUID or SOPInstanceUID."""


class TruncatedDicom(InvalidDicom):
    """An instance ends before its last data element does."""


class DuplicateDicomInstance(InvalidDicom):
    """Two files carry the same SOPInstanceUID with different bytes."""


class MultipleStudies(InvalidDicom):
    """The input holds more than one study; ingest takes one study at a time."""


class EmptyStudy(InvalidDicom):
    """The folder or archive holds no DICOM instance at all."""


class UnsafeArchive(InvalidDicom):
    """A zip member escapes the archive (absolute path, ``..``, symlink) or looks like a bomb."""


class InvalidStudyManifest(NodeError):
    """A decrypted study manifest that is too large, not JSON, or not the manifest layout."""


# --- pseudonyms ----------------------------------------------------------------------------


class PseudonymKeyError(NodeError):
    """The consortium pseudonym secret is missing or too short."""


# --- Merkle proofs and their wire format ---------------------------------------------------


class ProofError(NodeError):
    """Root of proof errors (format and verification)."""


class ProofFormatError(ProofError):
    """A serialized proof is malformed; subclasses say how."""


class BadMagic(ProofFormatError):
    """The bytes do not start with the proof magic."""


class UnsupportedProofVersion(ProofFormatError):
    """The proof's version byte is not one this code reads."""


class TruncatedProof(ProofFormatError):
    """The bytes end in the middle of a field."""


class TrailingBytes(ProofFormatError):
    """Bytes follow the end of a complete proof."""


class UnknownTag(ProofFormatError):
    """A section tag is not in the registry."""


class TagOrderError(ProofFormatError):
    """Sections are repeated or out of order (the encoding must be canonical)."""


class MissingSection(ProofFormatError):
    """A required section is absent."""


class LengthLimitExceeded(ProofFormatError):
    """A length or count exceeds its limit (guards against memory exhaustion)."""


class InvalidField(ProofFormatError):
    """A field has a value outside its domain (bad side byte, non-ASCII UID, bad hex...)."""


class ProofMismatch(ProofError):
    """A well-formed proof does not lead to the expected root."""


# --- outbox --------------------------------------------------------------------------------


class OutboxError(NodeError):
    """The durable outbox refused an operation or found its state inconsistent."""


class UnknownRecord(OutboxError):
    """No outbox entry has this record id."""


class IllegalTransition(OutboxError):
    """A batch state change that the state machine forbids (e.g. anchored -> submitted)."""


class BlobStoreError(NodeError):
    """Root of every blob store failure, whatever the backend."""


class InvalidCID(BlobStoreError):
    """A string is not a CID this store can address (malformed, or not CIDv1 sha2-256)."""


class BlobNotFound(BlobStoreError):
    """A block or blob is not in the store."""


class CorruptedBlock(BlobStoreError):
    """A block's bytes do not hash to its CID, or a node cannot be decoded.

    Raised before any byte of the corrupted block is released to the caller.
    """


class UnsupportedStoreFormat(BlobStoreError):
    """A directory holds a blob store of another on-disk format (or something else)."""


class CIDMismatch(BlobStoreError):
    """The CID a backend reports differs from the CID we computed for the same bytes."""


class DaemonUnreachable(BlobStoreError):
    """The IPFS daemon did not answer (connection refused, timeout) after every retry."""


class DaemonError(BlobStoreError):
    """The IPFS daemon answered with an error."""


# --- the running node: config, chain client --------------------------------------------


class NodeConfigError(NodeError):
    """The node configuration is missing, invalid, or names a secret that cannot be read."""


class ChainError(NodeError):
    """Root of chain client failures (RPC unreachable, transaction refused or reverted)."""


class ChainUnavailable(ChainError):
    """The chain's JSON-RPC endpoint did not answer."""


class ContractReverted(ChainError):
    """A contract call reverted; ``error`` names the custom error (``None`` if undecoded).

    Subclasses exist for the errors the node reacts to; any other custom error is raised as
    this class with its name and arguments.
    """

    def __init__(self, message: str, *, error: str | None = None, args: tuple[object, ...] = ()):
        super().__init__(message)
        self.error = error
        self.error_args = args


class BatchAlreadyAnchored(ContractReverted):
    """``Anchors.anchorBatch`` refused a root that is already anchored."""


class NotActiveMember(ContractReverted):
    """The hospital's account is not an active consortium member."""


class TransactionTimeout(ChainError):
    """No receipt arrived in time (the transaction may still land)."""


# --- referrals, grants, the event follower (node.cases) -----------------------------------


class CaseError(NodeError):
    """A referral, grant or delivery operation failed."""


class ChainRefused(ContractReverted, CaseError):
    """A referral or grant call was refused by the contract (``error`` names the rule)."""


class UnknownCase(CaseError):
    """The case has no records attached on this node."""


class InvalidCaseInput(CaseError):
    """A case id, address, expiry or other argument is malformed."""


class GrantPackageError(CaseError):
    """A grant package is malformed or does not match the grant on chain."""


class DeliveryError(CaseError):
    """A token delivery was refused (bad token, wrong grantee, grant unknown on chain)."""


class UnsignedDelivery(DeliveryError):
    """A delivery came without the grantor's ``GrantDelivery`` signature."""


class DeliverySignatureInvalid(DeliveryError):
    """A delivery's signature is malformed or not the on-chain grantor's over this delivery."""


class StaleDelivery(DeliveryError):
    """A signed delivery is not newer than the one already accepted for the grant."""


class PeerUnavailable(CaseError):
    """Another hospital's node could not be reached or answered badly."""


class RecordNotAnchored(CaseError):
    """A record to be granted has nothing on chain yet (pending in the outbox, not batched).

    A grantee could not check it against the chain, so the grant waits for its batch.
    """


class RecordKeyUnavailable(CaseError):
    """Our wrapped data key of the record does not unwrap.

    The record was crypto-shredded, or its key was wrapped to a retired key version.
    """


# --- reading a granted case back: refused before a byte is released (node.cases.read) -----


class GrantNotReceived(CaseError):
    """No package of that grant on this node (not received, or not replicated yet)."""


class RecordRefused(CaseError):
    """A granted record failed verification, so nothing of it is released.

    ``record_id`` names the record (random, not PHI) so a caller can report the refusal.
    """

    def __init__(self, message: str, *, record_id: bytes) -> None:
        super().__init__(message)
        self.record_id = record_id


class ContentHashMismatch(RecordRefused):
    """The ciphertext does not decrypt, or its plaintext does not re-hash to the anchor."""


class InclusionRejected(RecordRefused):
    """The record's batch inclusion proof does not lead from its commitment to its root."""


class AnchorMissing(RecordRefused):
    """Nothing on chain commits to the record (root absent, or anchored by another party)."""


class StudyUnreadable(RecordRefused):
    """A granted study's manifest does not open (wrong key, tampered, malformed, too large)."""


class InstanceUnparsable(CaseError):
    """A verified DICOM instance does not parse as DICOM (its bytes matched the manifest)."""
