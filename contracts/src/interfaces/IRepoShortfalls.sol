// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

/// @title IRepoShortfalls
/// @notice A close-out that leaves a shortfall records it as the holder's (creditor's) unsecured claim on the seller
/// in the repo's cash token. It is collected from the seller's next cash reaching the engine in that token (margin
/// returned, excess withdrawn, a manufactured payment), oldest shortfall first, and paid to the creditor (or its
/// claim); or both parties mark it settled off chain. Implemented by the engine's {RepoShortfallLedger}
/// (`engine.shortfallLedger()`).
interface IRepoShortfalls {
    /// @notice A shortfall of `repoId` in `token`, owed by `seller` to `creditor`; `remaining` is still unpaid.
    struct Shortfall {
        address creditor;
        address seller;
        address token;
        uint256 remaining;
        bool creditorAgreedSettled;
        bool sellerAgreedSettled;
    }

    /// @notice `amount` of the seller's cash was paid towards the shortfall of `repoId`; `remaining` is left.
    event ShortfallCollected(uint256 indexed repoId, address indexed creditor, uint256 amount, uint256 remaining);
    /// @notice `party` agreed that the shortfall of `repoId` was settled off chain.
    event ShortfallSettlementAgreed(uint256 indexed repoId, address indexed party);
    /// @notice Both parties agreed: the shortfall of `repoId` (`waived` left unpaid on chain) is settled.
    event ShortfallSettled(uint256 indexed repoId, uint256 waived);

    /// @notice `repoId` has no unpaid shortfall.
    error RepoNoShortfall(uint256 repoId);
    /// @notice Only the shortfall's creditor or seller may agree its settlement.
    error RepoNotShortfallParty(uint256 repoId, address caller);

    /// @notice Records the caller's (creditor's or seller's) agreement that the shortfall was settled off chain; once
    /// both agreed, the remaining amount is cleared.
    /// Emits {ShortfallSettlementAgreed}, then {ShortfallSettled} on the second agreement.
    /// @param repoId the closed-out repo
    function agreeShortfallSettled(uint256 repoId) external;

    /// @notice The shortfall record of `repoId` (all zero when none).
    function shortfall(uint256 repoId) external view returns (Shortfall memory);

    /// @notice What `seller` still owes in `token` on all its shortfalls.
    function shortfallDebt(address seller, address token) external view returns (uint256);
}
