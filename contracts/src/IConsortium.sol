// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {Tier, MemberStatus, Member, Staff} from "./Types.sol";

/// What the other contracts and the chain's mempool read from the membership registry.
interface IConsortium {
    function isPermitted(address account) external view returns (bool);
    function isActiveMember(address account) external view returns (bool);
    function tierOf(address account) external view returns (Tier);
    function statusOf(address account) external view returns (MemberStatus);
    function getMember(address account) external view returns (Member memory);
    function getStaff(address account) external view returns (Staff memory);
    function isActivePhysician(address hospital, address account) external view returns (bool);
    function isActiveOperator(address hospital, address account) external view returns (bool);
    function isAuditor(address account) external view returns (bool);
}
