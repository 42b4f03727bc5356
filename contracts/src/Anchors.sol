// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {IConsortium} from "./IConsortium.sol";
import {NotActiveMember, ZeroCaseId} from "./Types.sol";

/// Anchors of encrypted records: single records (with a version chain) and batches (Merkle
/// roots). Only salted commitments and CIDs of ciphertext go here, never content.
contract Anchors {
    /// Record kinds: 0 record, 1 prescription, 2 DICOM study.
    uint8 public constant KIND_RECORD = 0;
    uint8 public constant KIND_PRESCRIPTION = 1;
    uint8 public constant KIND_DICOM_STUDY = 2;

    struct RecordAnchor {
        address hospital;
        uint8 kind;
        uint64 anchoredAt;
        uint64 blockNumber;
        bytes32 commitment;
        bytes32 caseId;
        bytes32 previousVersion;
        bytes32 nextVersion;
        string cid;
    }

    struct BatchAnchor {
        address hospital;
        uint32 count;
        uint64 anchoredAt;
        uint64 blockNumber;
        string manifestCid;
    }

    /// The latest head of a gateway's disclosure log (hash chain of every read it served).
    struct DisclosureHead {
        bytes32 head;
        uint64 count;
        uint64 seq;
        uint64 blockNumber;
    }

    IConsortium public immutable consortium;
    mapping(bytes32 => RecordAnchor) private _records;
    mapping(bytes32 => BatchAnchor) private _batches;
    mapping(address => DisclosureHead) private _disclosureHeads;

    event RecordAnchored(
        bytes32 indexed recordId,
        address indexed hospital,
        bytes32 indexed caseId,
        uint8 kind,
        bytes32 commitment,
        string cid,
        bytes32 previousVersion
    );
    event BatchAnchored(
        bytes32 indexed root, address indexed hospital, uint32 count, string manifestCid
    );
    /// One anchor of a hospital's disclosure log: ``head`` is the hash of entry ``count``.
    event DisclosureHeadAnchored(
        address indexed hospital, address indexed operator, bytes32 head, uint64 count, uint64 seq
    );

    error ZeroRecordId();
    error RecordAlreadyAnchored(bytes32 recordId);
    error InvalidRecordKind(uint8 kind);
    error ZeroCommitment();
    error EmptyCid();
    error UnknownPreviousVersion(bytes32 previousVersion);
    error NotRecordOwner(bytes32 recordId, address owner);
    error VersionAlreadySuperseded(bytes32 recordId, bytes32 nextVersion);
    error VersionMismatch(bytes32 previousVersion);
    error ZeroRoot();
    error EmptyBatch();
    error BatchAlreadyAnchored(bytes32 root);
    error NotHospitalOperator(address hospital, address account);
    error ZeroHead();
    error DisclosureCountNotIncreasing(uint64 count, uint64 latest);

    constructor(IConsortium consortium_) {
        consortium = consortium_;
    }

    /// Anchor a record, or a new version of one of the caller's records (`previousVersion`
    /// non-zero: same kind and case, and the previous version must be the latest).
    /// @param commitment salted commitment to the content hash (not brute-forceable).
    /// @param cid CID of the ciphertext in the blob store.
    function anchorRecord(
        bytes32 recordId,
        uint8 kind,
        bytes32 commitment,
        string calldata cid,
        bytes32 caseId,
        bytes32 previousVersion
    ) external {
        if (!consortium.isActiveMember(msg.sender)) revert NotActiveMember(msg.sender);
        if (recordId == bytes32(0)) revert ZeroRecordId();
        if (_records[recordId].hospital != address(0)) revert RecordAlreadyAnchored(recordId);
        if (kind > KIND_DICOM_STUDY) revert InvalidRecordKind(kind);
        if (commitment == bytes32(0)) revert ZeroCommitment();
        if (bytes(cid).length == 0) revert EmptyCid();
        if (caseId == bytes32(0)) revert ZeroCaseId();
        if (previousVersion != bytes32(0)) {
            RecordAnchor storage prev = _records[previousVersion];
            if (prev.hospital == address(0)) revert UnknownPreviousVersion(previousVersion);
            if (prev.hospital != msg.sender) revert NotRecordOwner(previousVersion, prev.hospital);
            if (prev.nextVersion != bytes32(0)) {
                revert VersionAlreadySuperseded(previousVersion, prev.nextVersion);
            }
            if (prev.kind != kind || prev.caseId != caseId) revert VersionMismatch(previousVersion);
            prev.nextVersion = recordId;
        }
        _records[recordId] = RecordAnchor(
            msg.sender,
            kind,
            uint64(block.timestamp),
            uint64(block.number),
            commitment,
            caseId,
            previousVersion,
            bytes32(0),
            cid
        );
        emit RecordAnchored(recordId, msg.sender, caseId, kind, commitment, cid, previousVersion);
    }

    /// Anchor the Merkle root of a batch of record commitments; proofs are kept off chain.
    function anchorBatch(bytes32 root, uint32 count, string calldata manifestCid) external {
        if (!consortium.isActiveMember(msg.sender)) revert NotActiveMember(msg.sender);
        if (root == bytes32(0)) revert ZeroRoot();
        if (count == 0) revert EmptyBatch();
        if (bytes(manifestCid).length == 0) revert EmptyCid();
        if (_batches[root].hospital != address(0)) revert BatchAlreadyAnchored(root);
        _batches[root] = BatchAnchor(
            msg.sender, count, uint64(block.timestamp), uint64(block.number), manifestCid
        );
        emit BatchAnchored(root, msg.sender, count, manifestCid);
    }

    /// Anchor the head of ``hospital``'s disclosure log after ``count`` entries. Sent by the
    /// hospital or one of its active operators (its gateway); counts only grow, so a log
    /// cannot be rewound below a count already anchored.
    function anchorDisclosureHead(address hospital, bytes32 head, uint64 count) external {
        if (!consortium.isActiveMember(hospital)) revert NotActiveMember(hospital);
        if (msg.sender != hospital && !consortium.isActiveOperator(hospital, msg.sender)) {
            revert NotHospitalOperator(hospital, msg.sender);
        }
        if (head == bytes32(0)) revert ZeroHead();
        DisclosureHead storage latest = _disclosureHeads[hospital];
        if (count <= latest.count) revert DisclosureCountNotIncreasing(count, latest.count);
        uint64 seq = latest.seq + 1;
        _disclosureHeads[hospital] = DisclosureHead(head, count, seq, uint64(block.number));
        emit DisclosureHeadAnchored(hospital, msg.sender, head, count, seq);
    }

    function getDisclosureHead(address hospital) external view returns (DisclosureHead memory) {
        return _disclosureHeads[hospital];
    }

    function getRecord(bytes32 recordId) external view returns (RecordAnchor memory) {
        return _records[recordId];
    }

    function getBatch(bytes32 root) external view returns (BatchAnchor memory) {
        return _batches[root];
    }
}
