// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

/// Hospital tiers, lowest first: referrals go upward, refer-backs downward.
enum Tier {
    None,
    VillageClinic,
    TownshipHealthCentre,
    CountyHospital,
    TertiaryHospital
}

enum MemberStatus {
    None,
    Active,
    Suspended,
    Removed
}

/// Staff a hospital registers: physicians redeem grants; operators run the hospital's gateway.
enum Role {
    None,
    Physician,
    Operator
}

enum StaffStatus {
    None,
    Active,
    Suspended
}

/// A consortium member. Only public data: the encryption key is the public half.
struct Member {
    string name;
    Tier tier;
    MemberStatus status;
    bytes encryptionKey;
    uint32 encryptionKeyVersion;
    string endpoint;
    bool validator;
    /// The key its validator host signs blocks, votes and p2p links with: never the member
    /// account (which signs transactions, grants and access tokens), never any staff account.
    address validatorAddress;
}

/// A founding member installed by the constructor (genesis).
struct Founder {
    address account;
    string name;
    Tier tier;
    bytes encryptionKey;
    string endpoint;
    bool validator;
    address validatorAddress;
}

/// A physician or operator: never a name, only a salted hash of the licence number.
struct Staff {
    address hospital;
    Role role;
    StaffStatus status;
    bytes32 licenceHash;
}

enum ReferralStatus {
    None,
    Pending,
    Accepted,
    Declined,
    Completed,
    Cancelled
}

struct Referral {
    bytes32 caseId;
    address initiator;
    address target;
    uint16 reasonCode;
    uint64 expiresAt;
    ReferralStatus status;
    /// The upward referral this refer-back answers; 0 for an upward referral.
    uint256 parentId;
    /// The refer-back created from this referral, 0 if none.
    uint256 referBackId;
}

/// Shared by every contract that checks who is who.
error NotActiveMember(address account);
error ExpiryInPast(uint64 expiresAt, uint64 nowTs);
error ZeroCaseId();
