// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {IRepoEngine} from "./interfaces/IRepoEngine.sol";

/// @title RepoTermsHashing
/// @notice EIP-712 type hashes and struct hashes of the engine's typed data. The type strings are shared with
/// `contracts/eip712.py` and the gateway; their field order is part of every signature.
/// @dev Every field of these structs is a static value type, so `abi.encode(TYPEHASH, struct)` is exactly EIP-712
/// `encodeData` (each field one 32-byte word, in declaration order).
library RepoTermsHashing {
    /// @notice keccak256 of the RepoTerms type string.
    bytes32 internal constant REPO_TERMS_TYPEHASH = keccak256(
        "RepoTerms(address seller,address buyer,address cashToken,uint256 purchasePrice,int256 rate,"
        "uint16 dayCountBasis,uint64 startTime,uint64 maturity,uint64 noticePeriod,address collateralToken,"
        "uint256 collateralAmount,uint16 haircutBps,uint256 minTransferAmount,uint64 marginCurePeriod,"
        "uint64 gracePeriod,uint256 nonce,uint64 deadline)"
    );

    /// @notice keccak256 of the EarlyRepurchase type string.
    bytes32 internal constant EARLY_REPURCHASE_TYPEHASH =
        keccak256("EarlyRepurchase(uint256 repoId,uint256 nonce,uint64 deadline)");

    /// @notice keccak256 of the Substitution type string.
    bytes32 internal constant SUBSTITUTION_TYPEHASH = keccak256(
        "Substitution(uint256 repoId,address newCollateralToken,uint256 newCollateralAmount,uint256 nonce,"
        "uint64 deadline)"
    );

    /// @notice keccak256 of the Amendment type string.
    bytes32 internal constant AMENDMENT_TYPEHASH = keccak256(
        "Amendment(uint256 repoId,uint8 kind,uint64 newMaturity,int256 newRate,uint256 nonce,uint64 deadline)"
    );

    /// @notice Struct hash of repo terms.
    /// @dev The 17 static fields are copied from calldata as they are (what `abi.encode` writes for clean values,
    /// without re-validating each one). Dirty high bits cannot pass: a wallet signs the clean encoding, so such terms
    /// hash to a digest nobody signed, and the engine reads every field through the ABI decoder, which rejects them.
    function hashTerms(IRepoEngine.RepoTerms calldata terms) internal pure returns (bytes32 h) {
        bytes32 typehash = REPO_TERMS_TYPEHASH;
        assembly ("memory-safe") {
            let m := mload(0x40)
            mstore(m, typehash)
            calldatacopy(add(m, 0x20), terms, 0x220)
            h := keccak256(m, 0x240)
        }
    }

    /// @notice Struct hash of an early-repurchase consent.
    function hashEarlyRepurchase(uint256 repoId, uint256 nonce, uint64 deadline) internal pure returns (bytes32) {
        return keccak256(abi.encode(EARLY_REPURCHASE_TYPEHASH, repoId, nonce, deadline));
    }

    /// @notice Struct hash of a substitution consent.
    function hashSubstitution(
        uint256 repoId,
        address newCollateralToken,
        uint256 newCollateralAmount,
        uint256 nonce,
        uint64 deadline
    ) internal pure returns (bytes32) {
        return keccak256(
            abi.encode(SUBSTITUTION_TYPEHASH, repoId, newCollateralToken, newCollateralAmount, nonce, deadline)
        );
    }

    /// @notice Struct hash of an amendment.
    function hashAmendment(IRepoEngine.Amendment calldata amendment) internal pure returns (bytes32) {
        return keccak256(abi.encode(AMENDMENT_TYPEHASH, amendment));
    }
}
