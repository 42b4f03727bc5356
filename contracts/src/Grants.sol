// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {IConsortium} from "./IConsortium.sol";
import {IReferrals} from "./IReferrals.sol";
import {Signatures} from "./Signatures.sol";
import {Tier, Referral, NotActiveMember, ExpiryInPast, ZeroCaseId} from "./Types.sol";

/// Access grants for referred cases. Only the initiator of an active referral grants, and only
/// to the referral's target; the target's physicians redeem (directly or through the target's
/// gateway operator), and every redemption re-checks referral, grant and physician. Break-glass
/// is the one way in without a referral: upper tier only, reason code, time-boxed, its own event,
/// rate-limited per physician and open for review by the grantor hospital or an auditor.
///
/// A redemption proves two signatures on chain (EIP-712, domain bound to this chain id and this
/// contract): the grantor's access token, whose fields must be this grant's, and the
/// physician's own `Redemption` over a fresh nonce and a deadline. Whoever submits the
/// transaction (a gateway operator) can therefore spend a use only with both in hand.
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

    /// The access token as the grantor signed it (`keys/typed_data.py` is the Python twin).
    struct AccessToken {
        bytes32 grantId;
        bytes32 caseId;
        address grantee;
        bytes32 scopeRoot;
        uint64 expiry;
        bytes32 nonce;
    }

    /// The physician's consent to one opening, signed as EIP-712 `Redemption`.
    struct PhysicianApproval {
        address physician;
        bytes32 nonce;
        uint64 deadline;
        bytes signature;
    }

    /// The outcome of reviewing a break-glass opening.
    struct Review {
        bool reviewed;
        bool justified;
        address reviewer;
        uint64 reviewedAt;
        bytes32 noteHash;
    }

    bytes32 public constant ACCESS_GRANT_TYPEHASH = keccak256(
        "AccessGrant(bytes32 grantId,bytes32 caseId,address grantee,bytes32 scopeRoot,"
        "uint64 expiry,bytes32 nonce)"
    );
    bytes32 public constant REDEMPTION_TYPEHASH =
        keccak256("Redemption(uint256 grantId,bytes32 tokenNonce,bytes32 nonce,uint64 deadline)");
    bytes32 private constant NAME_HASH = keccak256("medledger Grants");
    bytes32 private constant VERSION_HASH = keccak256("1");

    IConsortium public immutable consortium;
    IReferrals public immutable referrals;
    /// Longest break-glass window, in seconds.
    uint64 public immutable maxBreakGlassDuration;
    /// At most this many break-glass openings per physician in any `breakGlassWindow` seconds.
    uint32 public immutable breakGlassLimit;
    uint64 public immutable breakGlassWindow;
    uint256 public grantCount;
    mapping(uint256 => Grant) private _grants;
    /// Physician redemption nonces spent, per grant (a signed redemption counts once).
    mapping(uint256 => mapping(bytes32 => bool)) public nonceUsed;
    mapping(uint256 => Review) private _reviews;
    /// Per physician: a ring of the last `breakGlassLimit` opening times, and how many so far.
    mapping(address => mapping(uint256 => uint64)) private _breakGlassAt;
    mapping(address => uint256) public breakGlassCount;

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

    event BreakGlassReviewed(
        uint256 indexed grantId,
        bytes32 indexed caseId,
        address indexed reviewer,
        address grantor,
        address physician,
        bool justified,
        bytes32 noteHash
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
    error TokenNotForGrant(uint256 grantId);
    error TokenNotSignedByGrantor(uint256 grantId, address signer);
    error PhysicianSignatureInvalid(uint256 grantId, address physician, address signer);
    error RedemptionDeadlinePassed(uint64 deadline, uint64 nowTs);
    error IsBreakGlassGrant(uint256 grantId);
    error NotBreakGlassGrant(uint256 grantId);
    error BreakGlassRateLimited(address physician, uint32 count, uint64 windowStart);
    error NotReviewer(uint256 grantId, address account);
    error AlreadyReviewed(uint256 grantId);
    error BadBreakGlassLimit();

    constructor(
        IConsortium consortium_,
        IReferrals referrals_,
        uint64 maxBreakGlassDuration_,
        uint32 breakGlassLimit_,
        uint64 breakGlassWindow_
    ) {
        if (breakGlassLimit_ == 0 || breakGlassWindow_ == 0) revert BadBreakGlassLimit();
        consortium = consortium_;
        referrals = referrals_;
        maxBreakGlassDuration = maxBreakGlassDuration_;
        breakGlassLimit = breakGlassLimit_;
        breakGlassWindow = breakGlassWindow_;
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

    /// Record one use of a grant: `token` is the grantor's signed access token for this grant,
    /// `approval` the physician's signed `Redemption`. Sent by the physician or by the
    /// grantee's gateway operator on the physician's behalf; neither signature can be forged
    /// by the sender, so without both no use is spent and no `AccessRedeemed` is emitted.
    function redeem(
        uint256 grantId,
        AccessToken calldata token,
        bytes calldata tokenSignature,
        PhysicianApproval calldata approval
    ) external {
        Grant storage g = _redeemable(grantId);
        if (g.breakGlass) revert IsBreakGlassGrant(grantId);
        if (!referrals.isActive(g.referralId)) revert ReferralNotActive(g.referralId);
        if (!consortium.isActiveMember(g.grantee)) revert NotActiveMember(g.grantee);
        if (
            token.grantId != bytes32(grantId) || token.caseId != g.caseId
                || token.grantee != g.grantee || token.scopeRoot != g.scopeRoot
                || token.expiry != g.expiresAt
        ) revert TokenNotForGrant(grantId);
        address signer = Signatures.recover(tokenDigest(token), tokenSignature);
        if (signer == address(0) || signer != g.grantor) {
            revert TokenNotSignedByGrantor(grantId, signer);
        }
        _spend(grantId, g, token.nonce, approval);
    }

    /// Record one use of a break-glass grant: no token (the grantor never issued one), only
    /// the opening physician's signed `Redemption` with a zero token nonce.
    function redeemBreakGlass(uint256 grantId, PhysicianApproval calldata approval) external {
        Grant storage g = _redeemable(grantId);
        if (!g.breakGlass) revert NotBreakGlassGrant(grantId);
        if (!consortium.isActiveMember(g.grantee)) revert NotActiveMember(g.grantee);
        _spend(grantId, g, bytes32(0), approval);
    }

    function _redeemable(uint256 grantId) private view returns (Grant storage g) {
        g = _grants[grantId];
        if (g.grantor == address(0)) revert UnknownGrant(grantId);
        if (g.revoked) revert GrantIsRevoked(grantId);
        if (block.timestamp > g.expiresAt) revert GrantExpired(grantId, g.expiresAt);
        if (g.uses >= g.maxUses) revert GrantExhausted(grantId, g.maxUses);
    }

    function _spend(
        uint256 grantId,
        Grant storage g,
        bytes32 tokenNonce,
        PhysicianApproval calldata approval
    ) private {
        address physician = approval.physician;
        if (msg.sender != physician && !consortium.isActiveOperator(g.grantee, msg.sender)) {
            revert NotAuthorizedToRedeem(grantId, msg.sender);
        }
        if (!consortium.isActivePhysician(g.grantee, physician)) {
            revert PhysicianNotActiveAtGrantee(physician, g.grantee);
        }
        if (g.physician != address(0) && g.physician != physician) {
            revert PhysicianNotNamedInGrant(grantId, physician);
        }
        if (approval.deadline < block.timestamp) {
            revert RedemptionDeadlinePassed(approval.deadline, uint64(block.timestamp));
        }
        bytes32 digest = redemptionDigest(grantId, tokenNonce, approval.nonce, approval.deadline);
        address signer = Signatures.recover(digest, approval.signature);
        if (signer != physician) revert PhysicianSignatureInvalid(grantId, physician, signer);
        if (nonceUsed[grantId][approval.nonce]) revert RedemptionReplayed(grantId, approval.nonce);
        nonceUsed[grantId][approval.nonce] = true;
        g.uses += 1;
        emit AccessRedeemed(
            grantId, g.caseId, physician, g.referralId, g.grantee, msg.sender, approval.nonce,
            g.uses, g.breakGlass
        );
    }

    /// This contract's EIP-712 domain: name, version, this chain, this deployment.
    function domainSeparator() public view returns (bytes32) {
        return Signatures.domainSeparator(NAME_HASH, VERSION_HASH, address(this));
    }

    /// The EIP-712 digest the grantor signs for `token` (exposed so Python's can be compared).
    function tokenDigest(AccessToken calldata token) public view returns (bytes32) {
        bytes32 structHash = keccak256(
            abi.encode(
                ACCESS_GRANT_TYPEHASH, token.grantId, token.caseId, token.grantee,
                token.scopeRoot, token.expiry, token.nonce
            )
        );
        return Signatures.typedDataDigest(domainSeparator(), structHash);
    }

    /// The EIP-712 digest a physician signs to open grant `grantId` once.
    function redemptionDigest(uint256 grantId, bytes32 tokenNonce, bytes32 nonce, uint64 deadline)
        public
        view
        returns (bytes32)
    {
        bytes32 structHash =
            keccak256(abi.encode(REDEMPTION_TYPEHASH, grantId, tokenNonce, nonce, deadline));
        return Signatures.typedDataDigest(domainSeparator(), structHash);
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
        _countBreakGlass(msg.sender);
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

    /// A sliding window: the opening `breakGlassLimit` places back must be older than
    /// `breakGlassWindow`, else this one would be the (limit + 1)-th inside the window.
    function _countBreakGlass(address physician) private {
        uint256 n = breakGlassCount[physician];
        uint256 slot = n % breakGlassLimit;
        if (n >= breakGlassLimit) {
            uint64 oldest = _breakGlassAt[physician][slot];
            if (block.timestamp < uint256(oldest) + breakGlassWindow) {
                revert BreakGlassRateLimited(physician, breakGlassLimit, oldest);
            }
        }
        _breakGlassAt[physician][slot] = uint64(block.timestamp);
        breakGlassCount[physician] = n + 1;
    }

    /// Record whether a break-glass opening was justified. Only the hospital whose case was
    /// opened (its account or one of its operators) or a consortium auditor reviews, once.
    function reviewBreakGlass(uint256 grantId, bool justified, bytes32 noteHash) external {
        Grant storage g = _grants[grantId];
        if (g.grantor == address(0)) revert UnknownGrant(grantId);
        if (!g.breakGlass) revert NotBreakGlassGrant(grantId);
        if (
            msg.sender != g.grantor && !consortium.isActiveOperator(g.grantor, msg.sender)
                && !consortium.isAuditor(msg.sender)
        ) revert NotReviewer(grantId, msg.sender);
        Review storage r = _reviews[grantId];
        if (r.reviewed) revert AlreadyReviewed(grantId);
        _reviews[grantId] = Review(true, justified, msg.sender, uint64(block.timestamp), noteHash);
        emit BreakGlassReviewed(
            grantId, g.caseId, msg.sender, g.grantor, g.physician, justified, noteHash
        );
    }

    /// The review of a break-glass grant (`reviewed == false` while pending).
    function getReview(uint256 grantId) external view returns (Review memory) {
        return _reviews[grantId];
    }

    /// Break-glass openings by `physician` inside the current window (0..breakGlassLimit).
    function breakGlassOpenings(address physician) external view returns (uint32 count) {
        uint256 n = breakGlassCount[physician];
        uint256 k = n < breakGlassLimit ? n : breakGlassLimit;
        for (uint256 i = 1; i <= k; i++) {
            uint64 at = _breakGlassAt[physician][(n - i) % breakGlassLimit];
            if (block.timestamp < uint256(at) + breakGlassWindow) count++;
        }
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
