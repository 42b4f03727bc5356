// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {IConsortium} from "./IConsortium.sol";
import {
    Tier, MemberStatus, Role, StaffStatus, Member, Founder, Staff, NotActiveMember
} from "./Types.sol";

/// Membership of the consortium: hospitals (tiers, keys, endpoints, validators), their staff,
/// and the read-only auditors. Membership changes only by a vote of the active members;
/// each hospital manages its own staff. The chain's mempool asks `isPermitted` who may write.
contract Consortium is IConsortium {
    enum ProposalKind {
        None,
        Admit,
        ChangeTier,
        Suspend,
        Reinstate,
        Remove,
        SetValidator,
        AddAuditor,
        RemoveAuditor
    }

    struct Proposal {
        ProposalKind kind;
        address subject;
        address proposer;
        Tier tier;
        bool flag;
        uint64 deadline;
        uint32 required;
        uint32 yes;
        bool executed;
    }

    /// Percentage of active members (rounded up) whose approval carries a proposal.
    uint8 public immutable voteThresholdPercent;
    /// Seconds a proposal stays open for votes.
    uint64 public immutable votingPeriod;

    mapping(address => Member) private _members;
    address[] private _memberList;
    uint256 public activeMemberCount;
    mapping(address => Staff) private _staff;
    mapping(address => bool) private _auditors;
    /// Every validator address ever registered -> its member; an address stays taken after a
    /// rotation, so a retired (possibly leaked) validator key can never become an account.
    mapping(address => address) private _validatorOwner;
    address[] private _auditorList;

    uint256 public proposalCount;
    mapping(uint256 => Proposal) private _proposals;
    mapping(uint256 => Member) private _candidates;
    mapping(uint256 => mapping(address => bool)) public hasVoted;

    event MemberAdmitted(
        address indexed member, Tier tier, string name, bool validator, uint256 indexed proposalId
    );
    event MemberTierChanged(
        address indexed member, Tier fromTier, Tier toTier, uint256 indexed proposalId
    );
    event MemberSuspended(address indexed member, uint256 indexed proposalId);
    event MemberReinstated(address indexed member, uint256 indexed proposalId);
    event MemberRemoved(address indexed member, uint256 indexed proposalId);
    event ValidatorFlagChanged(address indexed member, bool validator, uint256 indexed proposalId);
    event AuditorAdded(address indexed auditor, uint256 indexed proposalId);
    event AuditorRemoved(address indexed auditor, uint256 indexed proposalId);
    event EncryptionKeyRotated(address indexed member, uint32 version, bytes encryptionKey);
    event EndpointChanged(address indexed member, string endpoint);
    event ValidatorKeyChanged(
        address indexed member, address indexed fromValidator, address indexed toValidator
    );
    event ProposalCreated(
        uint256 indexed proposalId,
        ProposalKind kind,
        address indexed subject,
        address indexed proposer,
        Tier tier,
        bool flag,
        uint64 deadline,
        uint32 required
    );
    event VoteCast(uint256 indexed proposalId, address indexed voter, uint32 yes, uint32 required);
    event ProposalExecuted(uint256 indexed proposalId, ProposalKind kind, address indexed subject);
    event StaffRegistered(
        address indexed hospital, address indexed account, Role role, bytes32 licenceHash
    );
    event StaffSuspended(address indexed hospital, address indexed account);
    event StaffReinstated(address indexed hospital, address indexed account);

    error InvalidThreshold(uint8 percent);
    error NoFounders();
    error ZeroAddress();
    error AccountInUse(address account);
    /// Zero, a member/staff/auditor account, or a validator address already registered.
    error InvalidValidatorAddress(address validatorAddress);
    error InvalidTier(Tier tier);
    error EmptyEncryptionKey();
    error UnexpectedMemberStatus(address account, MemberStatus status);
    error TierUnchanged(address account, Tier tier);
    error ValidatorFlagUnchanged(address account, bool validator);
    error NotAnAuditor(address account);
    error UnknownProposal(uint256 proposalId);
    error ProposalAlreadyExecuted(uint256 proposalId);
    error ProposalExpired(uint256 proposalId, uint64 deadline);
    error AlreadyVoted(uint256 proposalId, address voter);
    error InvalidRole(Role role);
    error ZeroLicenceHash();
    error NotYourStaff(address account, address hospital);
    error UnexpectedStaffStatus(address account, StaffStatus status);

    /// @param founders the founding members, installed active without a vote (genesis).
    /// @param founderAuditors the founding regulators/auditors (read-only).
    constructor(
        Founder[] memory founders,
        address[] memory founderAuditors,
        uint8 thresholdPercent,
        uint64 votingPeriodSeconds
    ) {
        if (thresholdPercent == 0 || thresholdPercent > 100) {
            revert InvalidThreshold(thresholdPercent);
        }
        if (founders.length == 0) revert NoFounders();
        voteThresholdPercent = thresholdPercent;
        votingPeriod = votingPeriodSeconds;
        for (uint256 i = 0; i < founders.length; i++) {
            Founder memory f = founders[i];
            _checkNewMember(f.account, f.tier, f.encryptionKey);
            _checkValidatorAddress(f.account, f.validatorAddress);
            _install(
                f.account,
                Member(
                    f.name,
                    f.tier,
                    MemberStatus.Active,
                    f.encryptionKey,
                    1,
                    f.endpoint,
                    f.validator,
                    f.validatorAddress
                ),
                0
            );
        }
        for (uint256 i = 0; i < founderAuditors.length; i++) {
            _checkFreshAccount(founderAuditors[i]);
            _addAuditor(founderAuditors[i], 0);
        }
    }

    modifier onlyActiveMember() {
        if (_members[msg.sender].status != MemberStatus.Active) revert NotActiveMember(msg.sender);
        _;
    }

    // ---------------------------------------------------------------- proposals and votes

    function proposeAdmission(
        address account,
        string calldata name,
        Tier tier,
        bytes calldata encryptionKey,
        string calldata endpoint,
        bool validator,
        address validatorAddress
    ) external onlyActiveMember returns (uint256 proposalId) {
        _checkNewMember(account, tier, encryptionKey);
        _checkValidatorAddress(account, validatorAddress);
        proposalId = _open(ProposalKind.Admit, account, tier, validator);
        _candidates[proposalId] = Member(
            name, tier, MemberStatus.None, encryptionKey, 1, endpoint, validator, validatorAddress
        );
        _approve(proposalId);
    }

    function proposeTierChange(address member, Tier tier)
        external
        onlyActiveMember
        returns (uint256 proposalId)
    {
        _checkTierChange(member, tier);
        proposalId = _open(ProposalKind.ChangeTier, member, tier, false);
        _approve(proposalId);
    }

    function proposeSuspension(address member) external onlyActiveMember returns (uint256) {
        _expectStatus(member, MemberStatus.Active);
        return _openAndApprove(ProposalKind.Suspend, member, false);
    }

    function proposeReinstatement(address member) external onlyActiveMember returns (uint256) {
        _expectStatus(member, MemberStatus.Suspended);
        return _openAndApprove(ProposalKind.Reinstate, member, false);
    }

    function proposeRemoval(address member) external onlyActiveMember returns (uint256) {
        _checkRemovable(member);
        return _openAndApprove(ProposalKind.Remove, member, false);
    }

    function proposeValidatorFlag(address member, bool validator)
        external
        onlyActiveMember
        returns (uint256)
    {
        _checkValidatorChange(member, validator);
        return _openAndApprove(ProposalKind.SetValidator, member, validator);
    }

    function proposeAuditor(address account, bool add) external onlyActiveMember returns (uint256) {
        if (add) _checkFreshAccount(account);
        else if (!_auditors[account]) revert NotAnAuditor(account);
        return _openAndApprove(add ? ProposalKind.AddAuditor : ProposalKind.RemoveAuditor, account, add);
    }

    /// Approve a proposal; the vote that reaches the threshold executes it.
    function vote(uint256 proposalId) external onlyActiveMember {
        Proposal storage p = _proposals[proposalId];
        if (p.kind == ProposalKind.None) revert UnknownProposal(proposalId);
        if (p.executed) revert ProposalAlreadyExecuted(proposalId);
        if (block.timestamp > p.deadline) revert ProposalExpired(proposalId, p.deadline);
        if (hasVoted[proposalId][msg.sender]) revert AlreadyVoted(proposalId, msg.sender);
        _approve(proposalId);
    }

    function getProposal(uint256 proposalId) external view returns (Proposal memory) {
        return _proposals[proposalId];
    }

    function _openAndApprove(ProposalKind kind, address subject, bool flag)
        private
        returns (uint256 proposalId)
    {
        proposalId = _open(kind, subject, Tier.None, flag);
        _approve(proposalId);
    }

    function _open(ProposalKind kind, address subject, Tier tier, bool flag)
        private
        returns (uint256 proposalId)
    {
        proposalId = ++proposalCount;
        uint32 required =
            uint32((activeMemberCount * voteThresholdPercent + 99) / 100);
        if (required == 0) required = 1;
        uint64 deadline = uint64(block.timestamp) + votingPeriod;
        _proposals[proposalId] = Proposal(kind, subject, msg.sender, tier, flag, deadline, required, 0, false);
        emit ProposalCreated(proposalId, kind, subject, msg.sender, tier, flag, deadline, required);
    }

    function _approve(uint256 proposalId) private {
        Proposal storage p = _proposals[proposalId];
        hasVoted[proposalId][msg.sender] = true;
        p.yes += 1;
        emit VoteCast(proposalId, msg.sender, p.yes, p.required);
        if (p.yes >= p.required) _execute(proposalId, p);
    }

    /// Re-checks the subject: the world may have changed since the proposal was opened.
    function _execute(uint256 proposalId, Proposal storage p) private {
        p.executed = true;
        address s = p.subject;
        ProposalKind kind = p.kind;
        if (kind == ProposalKind.Admit) {
            Member memory c = _candidates[proposalId];
            _checkNewMember(s, c.tier, c.encryptionKey);
            _checkValidatorAddress(s, c.validatorAddress);
            c.status = MemberStatus.Active;
            _install(s, c, proposalId);
            delete _candidates[proposalId];
        } else if (kind == ProposalKind.ChangeTier) {
            _checkTierChange(s, p.tier);
            Tier old = _members[s].tier;
            _members[s].tier = p.tier;
            emit MemberTierChanged(s, old, p.tier, proposalId);
        } else if (kind == ProposalKind.Suspend) {
            _expectStatus(s, MemberStatus.Active);
            _members[s].status = MemberStatus.Suspended;
            activeMemberCount -= 1;
            emit MemberSuspended(s, proposalId);
        } else if (kind == ProposalKind.Reinstate) {
            _expectStatus(s, MemberStatus.Suspended);
            _members[s].status = MemberStatus.Active;
            activeMemberCount += 1;
            emit MemberReinstated(s, proposalId);
        } else if (kind == ProposalKind.Remove) {
            _checkRemovable(s);
            if (_members[s].status == MemberStatus.Active) activeMemberCount -= 1;
            _members[s].status = MemberStatus.Removed;
            _members[s].validator = false;
            emit MemberRemoved(s, proposalId);
        } else if (kind == ProposalKind.SetValidator) {
            _checkValidatorChange(s, p.flag);
            _members[s].validator = p.flag;
            emit ValidatorFlagChanged(s, p.flag, proposalId);
        } else if (kind == ProposalKind.AddAuditor) {
            _checkFreshAccount(s);
            _addAuditor(s, proposalId);
        } else {
            if (!_auditors[s]) revert NotAnAuditor(s);
            _auditors[s] = false;
            emit AuditorRemoved(s, proposalId);
        }
        emit ProposalExecuted(proposalId, kind, s);
    }

    // ---------------------------------------------------------------- a member's own data

    /// Publish a new encryption public key; grants wrap data keys to the latest version.
    function rotateEncryptionKey(bytes calldata encryptionKey) external onlyActiveMember {
        if (encryptionKey.length == 0) revert EmptyEncryptionKey();
        Member storage m = _members[msg.sender];
        m.encryptionKey = encryptionKey;
        m.encryptionKeyVersion += 1;
        emit EncryptionKeyRotated(msg.sender, m.encryptionKeyVersion, encryptionKey);
    }

    /// Replace the calling member's validator key (a new host, or a leaked key).
    /// The member itself decides, not a vote, and that is the safe choice: the member account
    /// is the hospital's root identity and never sits on the validator host, so a compromised
    /// validator host cannot rotate anything, while the hospital can retire a leaked validator
    /// key at once instead of waiting out a voting period with a key an attacker holds.
    /// Rotation cannot change who validates or how many (the flag stays a vote), and the
    /// uniqueness check keeps a member from claiming another's key (a second vote); a member
    /// that rotates to a key it does not hold only silences its own vote. The change counts
    /// from the next height (ledger.validator_sets), like every validator-set change.
    function rotateValidatorKey(address validatorAddress) external onlyActiveMember {
        _checkValidatorAddress(msg.sender, validatorAddress);
        Member storage m = _members[msg.sender];
        address old = m.validatorAddress;
        m.validatorAddress = validatorAddress;
        _validatorOwner[validatorAddress] = msg.sender;
        emit ValidatorKeyChanged(msg.sender, old, validatorAddress);
    }

    function setEndpoint(string calldata endpoint) external onlyActiveMember {
        _members[msg.sender].endpoint = endpoint;
        emit EndpointChanged(msg.sender, endpoint);
    }

    // ---------------------------------------------------------------- staff

    /// Register a physician or gateway operator of the calling hospital.
    /// @param licenceHash salted hash of the licence number (physicians); never a name.
    function registerStaff(address account, Role role, bytes32 licenceHash)
        external
        onlyActiveMember
    {
        _checkFreshAccount(account);
        if (role == Role.None) revert InvalidRole(role);
        if (role == Role.Physician && licenceHash == bytes32(0)) revert ZeroLicenceHash();
        _staff[account] = Staff(msg.sender, role, StaffStatus.Active, licenceHash);
        emit StaffRegistered(msg.sender, account, role, licenceHash);
    }

    function suspendStaff(address account) external onlyActiveMember {
        Staff storage s = _ownStaff(account, StaffStatus.Active);
        s.status = StaffStatus.Suspended;
        emit StaffSuspended(msg.sender, account);
    }

    function reinstateStaff(address account) external onlyActiveMember {
        Staff storage s = _ownStaff(account, StaffStatus.Suspended);
        s.status = StaffStatus.Active;
        emit StaffReinstated(msg.sender, account);
    }

    function _ownStaff(address account, StaffStatus expected) private view returns (Staff storage s) {
        s = _staff[account];
        if (s.hospital != msg.sender) revert NotYourStaff(account, s.hospital);
        if (s.status != expected) revert UnexpectedStaffStatus(account, s.status);
    }

    // ---------------------------------------------------------------- views

    /// Active members and the active staff of active members may send transactions;
    /// auditors only read.
    function isPermitted(address account) external view returns (bool) {
        if (_members[account].status == MemberStatus.Active) return true;
        Staff storage s = _staff[account];
        return s.status == StaffStatus.Active && _members[s.hospital].status == MemberStatus.Active;
    }

    function isActiveMember(address account) public view returns (bool) {
        return _members[account].status == MemberStatus.Active;
    }

    function tierOf(address account) external view returns (Tier) {
        return _members[account].tier;
    }

    function statusOf(address account) external view returns (MemberStatus) {
        return _members[account].status;
    }

    function getMember(address account) external view returns (Member memory) {
        return _members[account];
    }

    /// Every address ever admitted, in admission order (filter by status).
    function members() external view returns (address[] memory) {
        return _memberList;
    }

    /// The validator addresses of active members flagged as validators, in admission order.
    function validators() external view returns (address[] memory out) {
        uint256 n = 0;
        for (uint256 i = 0; i < _memberList.length; i++) {
            if (_isValidator(_memberList[i])) n++;
        }
        out = new address[](n);
        n = 0;
        for (uint256 i = 0; i < _memberList.length; i++) {
            address a = _memberList[i];
            if (_isValidator(a)) out[n++] = _members[a].validatorAddress;
        }
    }

    /// The member a validator address belongs (or belonged) to; zero if none.
    function validatorOwner(address validatorAddress) external view returns (address) {
        return _validatorOwner[validatorAddress];
    }

    function getStaff(address account) external view returns (Staff memory) {
        return _staff[account];
    }

    function isActivePhysician(address hospital, address account) external view returns (bool) {
        return _isActiveStaff(hospital, account, Role.Physician);
    }

    function isActiveOperator(address hospital, address account) external view returns (bool) {
        return _isActiveStaff(hospital, account, Role.Operator);
    }

    function isAuditor(address account) external view returns (bool) {
        return _auditors[account];
    }

    /// Every address ever made auditor (filter with `isAuditor`).
    function auditors() external view returns (address[] memory) {
        return _auditorList;
    }

    // ---------------------------------------------------------------- internals

    function _isValidator(address a) private view returns (bool) {
        return _members[a].validator && _members[a].status == MemberStatus.Active;
    }

    function _isActiveStaff(address hospital, address account, Role role) private view returns (bool) {
        Staff storage s = _staff[account];
        return s.hospital == hospital && s.role == role && s.status == StaffStatus.Active
            && _members[hospital].status == MemberStatus.Active;
    }

    function _install(address account, Member memory m, uint256 proposalId) private {
        _members[account] = m;
        _memberList.push(account);
        activeMemberCount += 1;
        _validatorOwner[m.validatorAddress] = account;
        emit MemberAdmitted(account, m.tier, m.name, m.validator, proposalId);
        emit EncryptionKeyRotated(account, m.encryptionKeyVersion, m.encryptionKey);
        emit EndpointChanged(account, m.endpoint);
        emit ValidatorKeyChanged(account, address(0), m.validatorAddress);
    }

    function _addAuditor(address account, uint256 proposalId) private {
        _auditors[account] = true;
        _auditorList.push(account);
        emit AuditorAdded(account, proposalId);
    }

    /// One account, one identity: a member, a staff member, an auditor or a validator key,
    /// never two.
    function _checkFreshAccount(address account) private view {
        if (account == address(0)) revert ZeroAddress();
        if (
            _members[account].status != MemberStatus.None || _staff[account].hospital != address(0)
                || _auditors[account] || _validatorOwner[account] != address(0)
        ) revert AccountInUse(account);
    }

    /// A validator key of its own: not zero, not ``member`` itself, not any account, never
    /// registered before (by anyone, this member included: a retired key stays retired).
    function _checkValidatorAddress(address member, address v) private view {
        if (
            v == address(0) || v == member || _members[v].status != MemberStatus.None
                || _staff[v].hospital != address(0) || _auditors[v]
                || _validatorOwner[v] != address(0)
        ) revert InvalidValidatorAddress(v);
    }

    function _checkNewMember(address account, Tier tier, bytes memory key) private view {
        _checkFreshAccount(account);
        if (tier == Tier.None) revert InvalidTier(tier);
        if (key.length == 0) revert EmptyEncryptionKey();
    }

    function _checkTierChange(address member, Tier tier) private view {
        MemberStatus st = _members[member].status;
        if (st != MemberStatus.Active && st != MemberStatus.Suspended) {
            revert UnexpectedMemberStatus(member, st);
        }
        if (tier == Tier.None) revert InvalidTier(tier);
        if (_members[member].tier == tier) revert TierUnchanged(member, tier);
    }

    function _checkRemovable(address member) private view {
        MemberStatus st = _members[member].status;
        if (st != MemberStatus.Active && st != MemberStatus.Suspended) {
            revert UnexpectedMemberStatus(member, st);
        }
    }

    function _checkValidatorChange(address member, bool validator) private view {
        _expectStatus(member, MemberStatus.Active);
        if (_members[member].validator == validator) revert ValidatorFlagUnchanged(member, validator);
    }

    function _expectStatus(address member, MemberStatus expected) private view {
        MemberStatus st = _members[member].status;
        if (st != expected) revert UnexpectedMemberStatus(member, st);
    }
}
