// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

/// Minimal EIP-712 signature recovery (no OpenZeppelin): one canonical signature per message.
/// A high-`s` twin, a `v` other than 27/28 or a wrong length recovers nobody (address(0)),
/// so callers compare the result with the expected signer and need no other branch.
library Signatures {
    /// Half the secp256k1 group order: EIP-2's bound on `s`.
    uint256 internal constant HALF_N =
        0x7FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF5D576E7357A4501DDFE92F46681B20A0;

    bytes32 internal constant DOMAIN_TYPEHASH = keccak256(
        "EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)"
    );

    /// The EIP-712 domain separator for `name`/`version` on this chain at `verifyingContract`.
    function domainSeparator(bytes32 nameHash, bytes32 versionHash, address verifyingContract)
        internal
        view
        returns (bytes32)
    {
        return keccak256(
            abi.encode(DOMAIN_TYPEHASH, nameHash, versionHash, block.chainid, verifyingContract)
        );
    }

    /// keccak256("\x19\x01" || domainSeparator || structHash).
    function typedDataDigest(bytes32 separator, bytes32 structHash)
        internal
        pure
        returns (bytes32 digest)
    {
        digest = keccak256(abi.encodePacked(hex"1901", separator, structHash));
    }

    /// The signer of `digest` (65 bytes r || s || v), or address(0) for any invalid signature.
    function recover(bytes32 digest, bytes calldata signature) internal pure returns (address) {
        if (signature.length != 65) return address(0);
        bytes32 r = bytes32(signature[0:32]);
        bytes32 s = bytes32(signature[32:64]);
        uint8 v = uint8(signature[64]);
        if (uint256(s) > HALF_N || uint256(s) == 0 || uint256(r) == 0) return address(0);
        if (v != 27 && v != 28) return address(0);
        return ecrecover(digest, v, r, s);
    }
}
