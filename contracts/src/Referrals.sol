// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {IConsortium} from "./IConsortium.sol";
import {IReferrals} from "./IReferrals.sol";
import {
    Tier, Referral, ReferralStatus, NotActiveMember, ExpiryInPast, ZeroCaseId
} from "./Types.sol";

/// Two-way referrals. A lower tier refers a case upward; the upper tier accepts or declines,
/// completes, and may refer the case back down. Transitions that widen access need active
/// members; transitions that narrow it (decline, complete, cancel) only need the right party.
///
///   Pending --accept--> Accepted --complete--> Completed --referBack--> (new Pending, downward)
///   Pending --decline--> Declined;  Pending|Accepted --cancel--> Cancelled
contract Referrals is IReferrals {
    IConsortium public immutable consortium;
    uint256 public referralCount;
    mapping(uint256 => Referral) private _referrals;

    event ReferralInitiated(
        uint256 indexed referralId,
        bytes32 indexed caseId,
        address indexed initiator,
        address target,
        uint16 reasonCode,
        uint64 expiresAt,
        uint256 parentId
    );
    event ReferralAccepted(uint256 indexed referralId, bytes32 indexed caseId, address indexed target);
    event ReferralDeclined(
        uint256 indexed referralId, bytes32 indexed caseId, address indexed target, uint16 reasonCode
    );
    event ReferralCompleted(uint256 indexed referralId, bytes32 indexed caseId, address indexed target);
    event ReferralCancelled(
        uint256 indexed referralId, bytes32 indexed caseId, address indexed initiator
    );
    event ReferredBack(
        uint256 indexed parentId, uint256 indexed referralId, bytes32 indexed caseId
    );

    error UnknownReferral(uint256 referralId);
    error SelfReferral();
    error NotUpwardReferral(Tier fromTier, Tier toTier);
    error NotDownwardReferral(Tier fromTier, Tier toTier);
    error NotReferralTarget(uint256 referralId, address account);
    error NotReferralInitiator(uint256 referralId, address account);
    error InvalidReferralTransition(uint256 referralId, ReferralStatus status);
    error ReferralExpired(uint256 referralId, uint64 expiresAt);
    error AlreadyReferredBack(uint256 referralId, uint256 referBackId);

    constructor(IConsortium consortium_) {
        consortium = consortium_;
    }

    /// Refer a case upward: caller and target active, tier(caller) < tier(target).
    /// @param caseId opaque pseudonymous case id (never a patient identifier).
    function initiate(bytes32 caseId, address target, uint16 reasonCode, uint64 expiresAt)
        external
        returns (uint256 referralId)
    {
        _checkNew(caseId, target, expiresAt);
        Tier from = consortium.tierOf(msg.sender);
        Tier to = consortium.tierOf(target);
        if (from >= to) revert NotUpwardReferral(from, to);
        referralId = _create(caseId, target, reasonCode, expiresAt, 0);
    }

    function accept(uint256 referralId) external {
        Referral storage r = _asTarget(referralId, ReferralStatus.Pending);
        if (!consortium.isActiveMember(msg.sender)) revert NotActiveMember(msg.sender);
        if (!consortium.isActiveMember(r.initiator)) revert NotActiveMember(r.initiator);
        if (block.timestamp > r.expiresAt) revert ReferralExpired(referralId, r.expiresAt);
        r.status = ReferralStatus.Accepted;
        emit ReferralAccepted(referralId, r.caseId, msg.sender);
    }

    function decline(uint256 referralId, uint16 reasonCode) external {
        Referral storage r = _asTarget(referralId, ReferralStatus.Pending);
        r.status = ReferralStatus.Declined;
        emit ReferralDeclined(referralId, r.caseId, msg.sender, reasonCode);
    }

    function complete(uint256 referralId) external {
        Referral storage r = _asTarget(referralId, ReferralStatus.Accepted);
        r.status = ReferralStatus.Completed;
        emit ReferralCompleted(referralId, r.caseId, msg.sender);
    }

    /// Refer a completed case back down to the hospital that referred it up (two-way
    /// referral), so the lower tier can read the discharge summary through a grant.
    function referBack(uint256 referralId, uint16 reasonCode, uint64 expiresAt)
        external
        returns (uint256 backId)
    {
        Referral storage r = _asTarget(referralId, ReferralStatus.Completed);
        if (r.referBackId != 0) revert AlreadyReferredBack(referralId, r.referBackId);
        _checkNew(r.caseId, r.initiator, expiresAt);
        Tier from = consortium.tierOf(msg.sender);
        Tier to = consortium.tierOf(r.initiator);
        if (from <= to) revert NotDownwardReferral(from, to);
        backId = _create(r.caseId, r.initiator, reasonCode, expiresAt, referralId);
        r.referBackId = backId;
        emit ReferredBack(referralId, backId, r.caseId);
    }

    function cancel(uint256 referralId) external {
        Referral storage r = _referrals[referralId];
        if (r.status == ReferralStatus.None) revert UnknownReferral(referralId);
        if (r.initiator != msg.sender) revert NotReferralInitiator(referralId, msg.sender);
        if (r.status != ReferralStatus.Pending && r.status != ReferralStatus.Accepted) {
            revert InvalidReferralTransition(referralId, r.status);
        }
        r.status = ReferralStatus.Cancelled;
        emit ReferralCancelled(referralId, r.caseId, msg.sender);
    }

    function getReferral(uint256 referralId) external view returns (Referral memory) {
        return _referrals[referralId];
    }

    /// Accepted, not expired, both parties active members: the condition for grants.
    function isActive(uint256 referralId) external view returns (bool) {
        Referral storage r = _referrals[referralId];
        return r.status == ReferralStatus.Accepted && block.timestamp <= r.expiresAt
            && consortium.isActiveMember(r.initiator) && consortium.isActiveMember(r.target);
    }

    function _checkNew(bytes32 caseId, address target, uint64 expiresAt) private view {
        if (!consortium.isActiveMember(msg.sender)) revert NotActiveMember(msg.sender);
        if (caseId == bytes32(0)) revert ZeroCaseId();
        if (target == msg.sender) revert SelfReferral();
        if (!consortium.isActiveMember(target)) revert NotActiveMember(target);
        if (expiresAt <= block.timestamp) revert ExpiryInPast(expiresAt, uint64(block.timestamp));
    }

    function _create(
        bytes32 caseId,
        address target,
        uint16 reasonCode,
        uint64 expiresAt,
        uint256 parentId
    ) private returns (uint256 referralId) {
        referralId = ++referralCount;
        _referrals[referralId] = Referral(
            caseId, msg.sender, target, reasonCode, expiresAt, ReferralStatus.Pending, parentId, 0
        );
        emit ReferralInitiated(
            referralId, caseId, msg.sender, target, reasonCode, expiresAt, parentId
        );
    }

    function _asTarget(uint256 referralId, ReferralStatus expected)
        private
        view
        returns (Referral storage r)
    {
        r = _referrals[referralId];
        if (r.status == ReferralStatus.None) revert UnknownReferral(referralId);
        if (r.target != msg.sender) revert NotReferralTarget(referralId, msg.sender);
        if (r.status != expected) revert InvalidReferralTransition(referralId, r.status);
    }
}
