// SPDX-License-Identifier: Apache-2.0
// A tiny contract that exercises what the RPC layer must carry: a storage write, an event with
// indexed topics, a custom error and a revert string. Used by the RPC tests and bench/chain.py.
pragma solidity 0.8.30;

contract Probe {
    uint256 public value;
    uint256 public count;

    event Stored(address indexed writer, uint256 indexed value, uint256 count);

    error Denied(address caller, uint256 code);

    function store(uint256 newValue) external {
        value = newValue;
        count += 1;
        emit Stored(msg.sender, newValue, count);
    }

    function deny(uint256 code) external view {
        revert Denied(msg.sender, code);
    }

    function failWith(string calldata reason) external pure {
        revert(reason);
    }
}
