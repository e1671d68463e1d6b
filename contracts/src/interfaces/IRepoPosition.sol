// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {IERC721} from "@openzeppelin/contracts/token/ERC721/IERC721.sol";

/// @title IRepoPosition
/// @notice ERC-721 position of the cash lender in a repo: tokenId = repoId. Only the engine mints (to the buyer at
/// open) and burns (at repurchase or close-out). Transfers move the lender's rights (closing-leg cash, consents,
/// close-out) to the new holder, who must be a verified wallet in the identity registry; the sender must be verified
/// too (a frozen or expired wallet cannot move positions). No wallet of the seller's identity may hold its repo's
/// position, at open or by a transfer.
interface IRepoPosition is IERC721 {
    /// @notice The caller is not the engine.
    error RepoPositionUnauthorized(address caller);
    /// @notice `account` is not verified in the identity registry.
    error RepoPositionHolderNotVerified(address account);
    /// @notice `holder` is the repo's `seller` or another wallet of the seller's identity: a seller cannot be its own
    /// lender (it would owe itself the repurchase, take its own margin and be its own close-out creditor).
    error RepoPositionSellerSide(address holder, address seller);

    /// @notice The engine allowed to mint and burn.
    function engine() external view returns (address);

    /// @notice Mints position `repoId` to `to`. Requirements: caller is the engine, which has verified `to` in the
    /// same call (the position does not check it again) and records it as the holder in its own storage
    /// ({IRepoEngine-positionHolder}); `to` is not a wallet of `seller`'s identity. Emits {Transfer}.
    function mint(address to, address seller, uint256 repoId) external;

    /// @notice Burns position `repoId` held by `holder`. Requirements: caller is the engine, which names the holder
    /// it recorded and ends the position in its own storage. Emits {Transfer}.
    function burn(address holder, uint256 repoId) external;
}
