// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

/// @title IRepoClaims
/// @notice The engine's claim ledger: a payment the engine owes a party that cannot receive it right now (its wallet
/// frozen, its KYC lapsed or removed, the token paused) is credited here instead of failing the step, so that no
/// party's status can stop the other party's repurchase, close-out or margin return. The party collects the claim
/// once the token accepts it again, or a court order sends it to a designated account. Cash owed to a seller that
/// still owes close-out shortfalls beyond what one payment collects is held here too ({RepoShortfalls}).
/// @dev Invariant: the engine's balance of each token equals the collateral and cash margin of live repos plus the
/// claims in that token.
interface IRepoClaims {
    /// @notice `amount` of `token` owed to `party` from `repoId` could not be delivered and is held as its claim
    /// (`repoId` 0: what a seller's own {claim} left after its shortfalls while it still owes).
    event ClaimCredited(address indexed party, address indexed token, uint256 indexed repoId, uint256 amount);
    /// @notice `party`'s whole claim in `token` was taken: `amount` paid to it, any rest to the creditors of its
    /// close-out shortfalls ({IRepoShortfalls}); what is still held for it then comes back as a new {ClaimCredited}.
    event ClaimPaid(address indexed party, address indexed token, uint256 amount);
    /// @notice A court order moved `party`'s claim in `token` to `to` (`orderRef` identifies the order).
    event ClaimForced(
        address indexed party, address indexed token, address indexed to, uint256 amount, bytes32 orderRef
    );

    /// @notice `party` has no claim in `token`.
    error RepoNoClaim(address party, address token);
    /// @notice A court-ordered transfer needs an order reference and a nonzero recipient.
    error RepoInvalidCourtOrder();

    /// @notice Pays the caller its whole claim in `token`, after collecting from it the caller's close-out shortfalls
    /// in `token` (a bounded number per call: while some remain unpaid, what is left stays its claim, and calling
    /// again collects the next ones). Reverts (nothing changed) while the token still refuses the caller, e.g. until
    /// its KYC is renewed or it is unfrozen.
    /// Emits {ClaimPaid}.
    /// @param token the token of the claim
    function claim(address token) external;

    /// @notice Court-ordered payment of `party`'s whole claim in `token` to `to` (which the token must accept).
    /// Requirements: `COURT_ORDER_ROLE`; `orderRef` nonzero; `to` nonzero; the claim nonzero.
    /// Emits {ClaimForced}.
    /// @param party the creditor of the claim
    /// @param token the token of the claim
    /// @param to the account the court designated
    /// @param orderRef reference of the court order
    function forceClaim(address party, address token, address to, bytes32 orderRef) external;

    /// @notice What the engine owes `party` in `token` on its claim ledger.
    function claimOf(address party, address token) external view returns (uint256);

    /// @notice The sum of all claims in `token`.
    function totalClaims(address token) external view returns (uint256);
}
