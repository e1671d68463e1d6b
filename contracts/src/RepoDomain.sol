// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {MessageHashUtils} from "@openzeppelin/contracts/utils/cryptography/MessageHashUtils.sol";

/// @title RepoDomain
/// @notice The engine's EIP-712 domain (name "RepoNet RepoEngine", version "1", chain id, the engine): the same
/// separator and digests as OpenZeppelin's EIP712, without its ERC-5267 `eip712Domain()` view (about 500 bytes of
/// string encoding the engine cannot afford under the 24,576-byte EIP-170 limit; clients take the domain from
/// {IRepoEngine-domainSeparator} or build it themselves, as contracts/eip712.py does).
/// @dev As OpenZeppelin's: the separator is cached as an immutable and rebuilt if the chain id or the executing
/// address differs from the deployment's (a fork, or code run by delegatecall), so a signature never verifies
/// under another chain's or contract's domain.
abstract contract RepoDomain {
    bytes32 private constant _TYPE_HASH =
        keccak256("EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)");
    bytes32 private constant _HASHED_NAME = keccak256("RepoNet RepoEngine");
    bytes32 private constant _HASHED_VERSION = keccak256("1");

    bytes32 private immutable _cachedDomainSeparator;
    uint256 private immutable _cachedChainId;
    address private immutable _cachedThis;

    constructor() {
        _cachedChainId = block.chainid;
        _cachedThis = address(this);
        _cachedDomainSeparator = _buildDomainSeparator();
    }

    /// @dev The domain separator for the current chain and address.
    function _domainSeparatorV4() internal view returns (bytes32) {
        if (address(this) == _cachedThis && block.chainid == _cachedChainId) return _cachedDomainSeparator;
        return _buildDomainSeparator();
    }

    /// @dev The digest a signer signs for `structHash` in this domain.
    function _hashTypedDataV4(bytes32 structHash) internal view returns (bytes32) {
        return MessageHashUtils.toTypedDataHash(_domainSeparatorV4(), structHash);
    }

    function _buildDomainSeparator() private view returns (bytes32) {
        return keccak256(abi.encode(_TYPE_HASH, _HASHED_NAME, _HASHED_VERSION, block.chainid, address(this)));
    }
}
