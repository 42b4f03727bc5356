// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {IConsortium} from "./IConsortium.sol";
import {IReferrals} from "./IReferrals.sol";
import {Tier, Referral, NotActiveMember, ExpiryInPast, ZeroCaseId} from "./Types.sol";

/// Access grants for referred cases. Only the initiator of an active referral grants, and only
/// to the referral's target; the target's physicians redeem (directly or through the target's
/// gateway operator), and every redemption re-checks referral, grant and physician. Break-glass
/// is the one way in without a referral: upper tier only, reason code, time-boxed, its own event.
contract Grants {
    struct Grant {
        uint256 referralId;
        bytes32 caseId;
        address grantor;
        address grantee;
        address physician;
        bytes32 scopeRoot;
        uint64 expiresAt;
        uint32 maxUses;
        uint32 uses;
        bool revoked;
        bool breakGlass;
        uint16 reasonCode;
    }

    IConsortium public immutable consortium;
    IReferrals public immutable referrals;
    /// Longest break-glass window, in seconds.
    uint64 public immutable maxBreakGlassDuration;
    uint256 public grantCount;
    mapping(uint256 => Grant) private _grants;
    mapping(uint256 => mapping(bytes32 => bool)) public nonceUsed;

    event GrantIssued(
        uint256 indexed grantId,
        uint256 indexed referralId,
        bytes32 indexed caseId,
        address grantor,
        address grantee,
        address physician,
        bytes32 scopeRoot,
        uint64 expiresAt,
        uint32 maxUses
    );
    event AccessRedeemed(
        uint256 indexed grantId,
        bytes32 indexed caseId,
        address indexed physician,
        uint256 referralId,
        address grantee,
        address submitter,
        bytes32 nonce,
        uint32 use,
        bool breakGlass
    );
    event GrantRevoked(
        uint256 indexed grantId, bytes32 indexed caseId, address indexed revokedBy, uint32 usesConsumed
    );
    event BreakGlassAccess(
        uint256 indexed grantId,
        bytes32 indexed caseId,
        address indexed physician,
        address hospital,
        address grantor,
        bytes32 scopeRoot,
        uint16 reasonCode,
        uint64 expiresAt,
        uint32 maxUses
    );

    error UnknownReferral(uint256 referralId);
    error NotReferralInitiator(uint256 referralId, address account);
    error ReferralNotActive(uint256 referralId);
    error GranteeNotReferralTarget(uint256 referralId, address grantee, address target);
    error PhysicianNotActiveAtGrantee(address physician, address grantee);
    error ZeroScope();
    error GrantOutlivesReferral(uint64 expiresAt, uint64 referralExpiresAt);
    error ZeroMaxUses();
    error UnknownGrant(uint256 grantId);
    error GrantIsRevoked(uint256 grantId);
    error GrantExpired(uint256 grantId, uint64 expiresAt);
    error GrantExhausted(uint256 grantId, uint32 maxUses);
    error NotAuthorizedToRedeem(uint256 grantId, address account);
    error PhysicianNotNamedInGrant(uint256 grantId, address physician);
    error RedemptionReplayed(uint256 grantId, bytes32 nonce);
    error NotGrantor(uint256 grantId, address account);
    error ReasonCodeRequired();
    error BreakGlassTooLong(uint64 duration, uint64 maxDuration);
    error NotUpwardAccess(Tier fromTier, Tier toTier);

    constructor(IConsortium consortium_, IReferrals referrals_, uint64 maxBreakGlassDuration_) {
        consortium = consortium_;
        referrals = referrals_;
        maxBreakGlassDuration = maxBreakGlassDuration_;
    }

    /// Grant the referral's target access to a case's records.
    /// @param physician a named physician at the grantee, or address(0) for any of them.
    /// @param scopeRoot Merkle root of the covered record ids.
    function issue(
        uint256 referralId,
        address grantee,
        address physician,
        bytes32 scopeRoot,
        uint64 expiresAt,
        uint32 maxUses
    ) external returns (uint256 grantId) {
        if (!consortium.isActiveMember(msg.sender)) revert NotActiveMember(msg.sender);
        Referral memory r = referrals.getReferral(referralId);
        if (r.initiator == address(0)) revert UnknownReferral(referralId);
        if (r.initiator != msg.sender) revert NotReferralInitiator(referralId, msg.sender);
        if (!referrals.isActive(referralId)) revert ReferralNotActive(referralId);
        if (grantee != r.target) revert GranteeNotReferralTarget(referralId, grantee, r.target);
        if (physician != address(0) && !consortium.isActivePhysician(grantee, physician)) {
            revert PhysicianNotActiveAtGrantee(physician, grantee);
        }
        if (scopeRoot == bytes32(0)) revert ZeroScope();
        if (expiresAt <= block.timestamp) revert ExpiryInPast(expiresAt, uint64(block.timestamp));
        if (expiresAt > r.expiresAt) revert GrantOutlivesReferral(expiresAt, r.expiresAt);
        if (maxUses == 0) revert ZeroMaxUses();
        grantId = ++grantCount;
        _grants[grantId] = Grant(
            referralId, r.caseId, msg.sender, grantee, physician, scopeRoot, expiresAt, maxUses, 0,
            false, false, 0
        );
        emit GrantIssued(
            grantId, referralId, r.caseId, msg.sender, grantee, physician, scopeRoot, expiresAt, maxUses
        );
    }

    /// Record one use of a grant by `physician`, sent by the physician or by the grantee's
    /// gateway operator on the physician's behalf. `nonce` is the access token's nonce:
    /// a token redeems once.
    function redeem(uint256 grantId, address physician, bytes32 nonce) external {
        Grant storage g = _grants[grantId];
        if (g.grantor == address(0)) revert UnknownGrant(grantId);
        if (g.revoked) revert GrantIsRevoked(grantId);
        if (block.timestamp > g.expiresAt) revert GrantExpired(grantId, g.expiresAt);
        if (g.uses >= g.maxUses) revert GrantExhausted(grantId, g.maxUses);
        if (!g.breakGlass && !referrals.isActive(g.referralId)) {
            revert ReferralNotActive(g.referralId);
        }
        if (!consortium.isActiveMember(g.grantee)) revert NotActiveMember(g.grantee);
        if (msg.sender != physician && !consortium.isActiveOperator(g.grantee, msg.sender)) {
            revert NotAuthorizedToRedeem(grantId, msg.sender);
        }
        if (!consortium.isActivePhysician(g.grantee, physician)) {
            revert PhysicianNotActiveAtGrantee(physician, g.grantee);
        }
        if (g.physician != address(0) && g.physician != physician) {
            revert PhysicianNotNamedInGrant(grantId, physician);
        }
        if (nonceUsed[grantId][nonce]) revert RedemptionReplayed(grantId, nonce);
        nonceUsed[grantId][nonce] = true;
        g.uses += 1;
        emit AccessRedeemed(
            grantId, g.caseId, physician, g.referralId, g.grantee, msg.sender, nonce, g.uses, g.breakGlass
        );
    }

    /// Stop future redemptions at once. The grantor may revoke at any time, even suspended.
    function revoke(uint256 grantId) external {
        Grant storage g = _grants[grantId];
        if (g.grantor == address(0)) revert UnknownGrant(grantId);
        if (g.grantor != msg.sender) revert NotGrantor(grantId, msg.sender);
        if (g.revoked) revert GrantIsRevoked(grantId);
        g.revoked = true;
        emit GrantRevoked(grantId, g.caseId, msg.sender, g.uses);
    }

    /// Emergency access without a referral, by an active physician of an upper-tier hospital
    /// to a lower-tier member's case: reason code required, window bounded, flagged for review.
    /// The grantor (the lower tier) can revoke it like any grant.
    function breakGlass(
        bytes32 caseId,
        address grantor,
        bytes32 scopeRoot,
        uint16 reasonCode,
        uint64 duration,
        uint32 maxUses
    ) external returns (uint256 grantId) {
        address hospital = consortium.getStaff(msg.sender).hospital;
        if (!consortium.isActivePhysician(hospital, msg.sender)) {
            revert PhysicianNotActiveAtGrantee(msg.sender, hospital);
        }
        if (!consortium.isActiveMember(grantor)) revert NotActiveMember(grantor);
        Tier from = consortium.tierOf(grantor);
        Tier to = consortium.tierOf(hospital);
        if (from >= to) revert NotUpwardAccess(from, to);
        if (caseId == bytes32(0)) revert ZeroCaseId();
        if (scopeRoot == bytes32(0)) revert ZeroScope();
        if (reasonCode == 0) revert ReasonCodeRequired();
        if (duration == 0 || duration > maxBreakGlassDuration) {
            revert BreakGlassTooLong(duration, maxBreakGlassDuration);
        }
        if (maxUses == 0) revert ZeroMaxUses();
        uint64 expiresAt = uint64(block.timestamp) + duration;
        grantId = ++grantCount;
        _grants[grantId] = Grant(
            0, caseId, grantor, hospital, msg.sender, scopeRoot, expiresAt, maxUses, 0, false, true,
            reasonCode
        );
        emit BreakGlassAccess(
            grantId, caseId, msg.sender, hospital, grantor, scopeRoot, reasonCode, expiresAt, maxUses
        );
    }

    function getGrant(uint256 grantId) external view returns (Grant memory) {
        return _grants[grantId];
    }

    /// Whether a redemption could succeed now, ignoring who sends it and the nonce.
    function isLive(uint256 grantId) external view returns (bool) {
        Grant storage g = _grants[grantId];
        return g.grantor != address(0) && !g.revoked && block.timestamp <= g.expiresAt
            && g.uses < g.maxUses && (g.breakGlass || referrals.isActive(g.referralId))
            && consortium.isActiveMember(g.grantee);
    }
}
