// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {Referral} from "./Types.sol";

interface IReferrals {
    function getReferral(uint256 referralId) external view returns (Referral memory);
    function isActive(uint256 referralId) external view returns (bool);
}
