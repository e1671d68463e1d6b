// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

/// @title IRepoGcSettlement
/// @notice Settlement of general-collateral (GC) order-book matches: each member signs an order once (EIP-712 type
/// `GcOrder`, in the engine's domain) over limits, and every fill within both orders' limits opens a repo at once,
/// with no second signature. Only the matcher each order names can fill it; it chooses the rate, the amount and the
/// bond from the basket, and the contract checks each against what both members signed:
/// - the lend order's rate floor <= the fill's rate <= the borrow order's rate cap;
/// - the order's minimum fill <= the amount, and the order's filled total stays within its size;
/// - the bond is in the basket both signed, at the basket's haircut; the collateral is the least amount of it whose
///   haircut value (at the oracle's price, in the cash token) covers the cash: the lender is not under-secured and
///   the borrower does not give more than it must;
/// - the same cash token, basket, opening day and maturity on both sides, on or after the orders' `start` and before
///   both orders' deadlines, and neither order's nonce spent on the engine (a member voids its order on chain with {IRepoEngine-cancelNonce}).
/// The repo opens through the engine's own `open`, so the engine's checks (verified parties, listed tokens, rate
/// bounds, pauses) all apply; the borrower is the repo's seller, the lender its buyer and first position holder.
/// Served by the engine's extensions through its fallback, in the engine's own storage and address.
interface IRepoGcSettlement {
    /// @notice Which way an order trades cash: a LEND order gives cash against collateral (the repo's buyer), a
    /// BORROW order gives collateral for cash (the repo's seller).
    enum GcSide {
        LEND,
        BORROW
    }

    /// @notice What a member signs. `rate` is the lowest rate a LEND order accepts and the highest a BORROW order
    /// accepts (annual, 18 decimals, signed); `size` bounds the sum of its fills in the cash token's units, each fill
    /// at least `minFill`; `basket` is {basketHash} of the basket both sides must name; `start` the earliest time its
    /// fills may open (the opening day's start: a tom-next or forward-starting trade matched today opens on its
    /// day, not before); `maturity` the closing leg; `deadline` the latest a fill may open (the opening day's end).
    struct GcOrder {
        address maker;
        address matcher;
        GcSide side;
        address cashToken;
        bytes32 basket;
        uint64 start;
        uint64 maturity;
        int256 rate;
        uint256 size;
        uint256 minFill;
        uint256 nonce;
        uint64 deadline;
    }

    /// @notice A bond the basket accepts and its haircut.
    struct GcBond {
        address token;
        uint16 haircutBps;
    }

    /// @notice A GC basket: the eligible bonds and the standard terms every repo traded in it carries.
    struct GcBasket {
        uint16 dayCountBasis;
        uint256 minTransferAmount;
        uint64 marginCurePeriod;
        uint64 gracePeriod;
        GcBond[] bonds;
    }

    /// @notice What the matcher chose: `amount` of cash at `rate`, against `collateralAmount` of `basket.bonds[bond]`.
    struct GcFill {
        uint256 amount;
        int256 rate;
        uint256 bond;
        uint256 collateralAmount;
    }

    /// @notice A fill of `lendOrder` against `borrowOrder` opened `repoId`; `fill` numbers fills engine-wide.
    event GcFillSettled(
        uint256 indexed repoId,
        bytes32 indexed lendOrder,
        bytes32 indexed borrowOrder,
        uint256 fill,
        uint256 amount,
        int256 rate
    );

    /// @notice `caller` is not the matcher both orders name.
    error GcNotMatcher(address caller);

    /// @notice The two orders cannot trade with each other: `reason` names the mismatch.
    error GcOrdersMismatch(string reason);

    /// @notice The fill is outside what `order` signed: `reason` names the limit.
    error GcOutsideLimit(bytes32 order, string reason);

    /// @notice `signer`'s signature of its order does not verify.
    error GcInvalidSignature(address signer);

    /// @notice The order's deadline `deadline` has passed.
    error GcOrderExpired(bytes32 order, uint64 deadline);

    /// @notice The order's opening day has not begun: its fills open from `start`.
    error GcOrderNotStarted(bytes32 order, uint64 start);

    /// @notice The order's maker spent its nonce on the engine: the order is void.
    error GcOrderCancelled(bytes32 order);

    /// @notice `given` is not the least amount of the bond whose haircut value covers the cash.
    error GcCollateralNotLeast(uint256 given);

    /// @notice Opens the repo of one fill of `lend` against `borrow` (see the interface notice); only their matcher.
    function settleGcFill(
        GcOrder calldata lend,
        bytes calldata lendSig,
        GcOrder calldata borrow,
        bytes calldata borrowSig,
        GcBasket calldata basket,
        GcFill calldata fill
    ) external returns (uint256 repoId);

    /// @notice How much of the order with EIP-712 struct hash `orderHash` has filled.
    function gcFilled(bytes32 orderHash) external view returns (uint256);

    /// @notice The EIP-712 struct hash of `order` (its id in {GcFillSettled} and {gcFilled}).
    function gcOrderHash(GcOrder calldata order) external pure returns (bytes32);

    /// @notice The hash orders sign for `basket`: keccak256 of its ABI encoding.
    function gcBasketHash(GcBasket calldata basket) external pure returns (bytes32);
}
