// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {IFxOracle} from "./IFxOracle.sol";

/// @title IPriceOracle
/// @notice Prices of an asset (a bond token) in a quote (a cash token), each with the time it was set and a
/// maximum age after which it is stale.
///
/// Price scale: a price has `PRICE_DECIMALS` (18) decimals and converts smallest units to smallest units:
/// the value, in `quote` smallest units, of `amount` smallest units of `asset` is `amount * price / 1e18`
/// (rounded down). Example: a bond with 0 decimals (1 unit = 1 EUR nominal) at 98.5% of par, quoted in a cash
/// token with 2 decimals, has price `0.985 * 100 * 1e18 = 98.5e18`.
///
/// Guard rail: a pair may have a maximum move per update (`maxMoveBps` of the current price). A feeder's price that
/// moves further is not applied but held as a pending move; it takes effect only when a second person with
/// `CONFIRMER_ROLE` (not the proposer) confirms the same price within the pair's confirmation window. FX pairs
/// (a cash token priced in another) are pairs like any other.
/// @dev Roles: `DEFAULT_ADMIN_ROLE` sets maximum ages and move limits; `FEEDER_ROLE` posts prices;
/// `CONFIRMER_ROLE` confirms large moves.
interface IPriceOracle is IFxOracle {
    /// @notice A move a feeder proposed, waiting for a second person's confirmation.
    struct PendingMove {
        uint256 price;
        address proposer;
        uint64 proposedAt;
    }

    /// @notice A feeder posted a price moving more than the pair's limit; it waits for confirmation.
    event PriceMoveProposed(address indexed asset, address indexed quote, uint256 price, address indexed proposer);
    /// @notice A second person confirmed a pending move; the price is applied (and `PriceUpdated` emitted).
    event PriceMoveConfirmed(address indexed asset, address indexed quote, uint256 price, address indexed confirmer);
    /// @notice A pair's move limit was set (`maxMoveBps` 0 = no limit).
    event MaxMoveSet(address indexed asset, address indexed quote, uint16 maxMoveBps, uint64 confirmWindow);

    /// @notice A price was posted for a pair.
    event PriceUpdated(address indexed asset, address indexed quote, uint256 price, uint64 timestamp);
    /// @notice A pair's maximum age was set (0 = use the default).
    event MaxAgeSet(address indexed asset, address indexed quote, uint64 maxAge);

    /// @notice No price has been posted for the pair.
    error PriceMissing(address asset, address quote);
    /// @notice The pair's price is older than its maximum age.
    error PriceStale(address asset, address quote, uint64 updatedAt, uint64 maxAge);
    /// @notice A posted price must be positive.
    error PriceZero(address asset, address quote);
    /// @notice The zero address was given as asset or quote.
    error PriceZeroAddress();
    /// @notice The default maximum age must be positive.
    error PriceInvalidMaxAge();
    /// @notice A move limit needs a positive confirmation window.
    error PriceInvalidMoveLimit();
    /// @notice No pending move for the pair, or a different price than the one pending.
    error PriceNoPendingMove(address asset, address quote, uint256 price);
    /// @notice The pending move's confirmation window has passed.
    error PriceConfirmationExpired(address asset, address quote, uint64 proposedAt, uint64 confirmWindow);
    /// @notice The proposer of a move cannot confirm it.
    error PriceSameFeeder(address feeder);

    /// @notice Number of decimals of every price: 18.
    /// @return 18.
    function PRICE_DECIMALS() external view returns (uint8);

    /// @notice Posts the current price of `asset` in `quote`, timestamped `block.timestamp`.
    /// @param asset The priced token.
    /// @param quote The cash token it is priced in.
    /// @param price Quote smallest units per asset smallest unit, times 1e18.
    /// Requirements:
    /// - caller has `FEEDER_ROLE`;
    /// - `asset` and `quote` are nonzero; `price > 0`.
    /// Emits `PriceUpdated`; or, when the pair has a move limit and `price` moves further than it from the current
    /// price, changes nothing but the pending move and emits `PriceMoveProposed`.
    function setPrice(address asset, address quote, uint256 price) external;

    /// @notice Confirms the pending move of a pair and applies it.
    /// Requirements: caller has `CONFIRMER_ROLE` and did not propose it; `price` equals the pending price; within
    /// the pair's confirmation window of the proposal.
    /// Emits `PriceMoveConfirmed` and `PriceUpdated`.
    function confirmPrice(address asset, address quote, uint256 price) external;

    /// @notice Sets a pair's maximum move per update in basis points of the current price (0 = no limit) and the
    /// time a second person has to confirm a larger move. Requirements: `DEFAULT_ADMIN_ROLE`; nonzero addresses;
    /// `confirmWindow > 0` when a limit is set. Emits `MaxMoveSet`.
    function setMaxMove(address asset, address quote, uint16 maxMoveBps, uint64 confirmWindow) external;

    /// @notice A pair's move limit (bps, 0 = none) and confirmation window.
    function maxMoveOf(address asset, address quote) external view returns (uint16 maxMoveBps, uint64 confirmWindow);

    /// @notice A pair's pending move (price 0 if none).
    function pendingMoveOf(address asset, address quote) external view returns (PendingMove memory);

    /// @notice Sets the maximum age of a pair's price; 0 resets it to the default.
    /// @param asset The priced token.
    /// @param quote The cash token.
    /// @param maxAge Maximum age in seconds (0 = default; at most 2^56 − 1, else `PriceInvalidMaxAge`).
    /// Requirements:
    /// - caller has `DEFAULT_ADMIN_ROLE`;
    /// - `asset` and `quote` are nonzero.
    /// Emits `MaxAgeSet`.
    function setMaxAge(address asset, address quote, uint64 maxAge) external;

    /// @notice The current, fresh price of `asset` in `quote`.
    /// @param asset The priced token.
    /// @param quote The cash token.
    /// @return price The price (18 decimals, smallest units to smallest units).
    /// @return updatedAt When it was posted.
    /// Requirements:
    /// - a price was posted (else `PriceMissing`);
    /// - `block.timestamp - updatedAt <= maxAge` (else `PriceStale`).
    function getPrice(address asset, address quote) external view returns (uint256 price, uint64 updatedAt);

    /// @notice The value of `amount` smallest units of `asset` in `quote` smallest units:
    /// `amount * price / 1e18`, rounded down.
    /// @param asset The priced token.
    /// @param quote The cash token.
    /// @param amount The amount of `asset` in smallest units.
    /// @return The value in `quote` smallest units.
    /// Requirements: as `getPrice`.
    function valueOf(address asset, address quote, uint256 amount) external view returns (uint256);

    /// @notice The maximum age in force for a pair (its own, or the default).
    /// @param asset The priced token.
    /// @param quote The cash token.
    /// @return Maximum age in seconds.
    function maxAgeOf(address asset, address quote) external view returns (uint64);

    /// @notice The maximum age for pairs without their own, set at deployment.
    /// @return Maximum age in seconds.
    function defaultMaxAge() external view returns (uint64);
}
