// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

/// @title IRepoCoupons
/// @notice Manufactured payments (GMRA 2011 paragraph 5). Income paid on collateral the engine holds in escrow — the
/// initial collateral, collateral delivered as margin and substitutes alike — belongs economically to the seller.
/// The bond's paying agent (or anyone, e.g. the buyer performing its own GMRA obligation) pays each repo's coupon
/// through {payCoupon} on or after the payment date; the engine passes it on the same transaction:
/// - by default to the seller (collected first against the seller's unpaid close-out shortfalls in that token, and
///   credited to the seller's claim if it cannot receive);
/// - or, when both parties elected it (amendment kind COUPON_ELECTION), to the position holder, and the repurchase
///   price is reduced by the same amount (only while the repo is live and the coupon is in the repo's cash token).
/// Record date: a repo is owed coupon `i` of its collateral bond if it held that bond since on or before the record
/// date; the amount is on the units in escrow at the record date. To keep that amount fixed, collateral of a repo
/// cannot be added, withdrawn or substituted between a coupon's record date and its payment through {payCoupon}
/// (cash margin can still cure a call); a repurchase or close-out in that window keeps the units for the payment.
/// Bond redemption: collateral must be substituted before the bond matures — see contracts/SECURITY.md.
interface IRepoCoupons {
    /// @notice A coupon on repo collateral was manufactured.
    /// @param repoId the repo
    /// @param bond the collateral bond
    /// @param index the coupon's index in the bond's schedule
    /// @param payer who paid it (normally the bond's paying agent)
    /// @param to the seller, or the position holder when applied to the repurchase price
    /// @param amount coupon amount in the bond's coupon token
    /// @param appliedToRepurchasePrice true when the repurchase price was reduced by `amount`
    event CouponManufactured(
        uint256 indexed repoId,
        address indexed bond,
        uint256 index,
        address payer,
        address to,
        uint256 amount,
        bool appliedToRepurchasePrice
    );

    /// @notice The parties changed their election for coupons of `repoId`.
    event CouponElectionChanged(uint256 indexed repoId, bool applyToRepurchasePrice);

    /// @notice Coupon `index` is not the next one `repoId` is owed (`expected` is).
    error RepoCouponNotOwed(uint256 repoId, uint256 index, uint256 expected);
    /// @notice Coupon `index` is not payable before `paymentDate`.
    error RepoCouponNotDue(uint256 repoId, uint256 index, uint64 paymentDate);
    /// @notice Coupon `index` has passed its record date and is not yet paid: collateral cannot change until it is.
    error RepoCouponPending(uint256 repoId, uint256 index);

    /// @notice Pays the next coupon owed on `repoId`'s collateral, pulling it from the caller and passing it on.
    /// Requirements: `index` is the next coupon owed; its payment date has come; the caller approved the engine for
    /// the amount in the coupon token.
    /// Emits {CouponManufactured}; may emit {IRepoShortfalls-ShortfallCollected} and {IRepoClaims-ClaimCredited}.
    /// @param repoId the repo
    /// @param index the coupon's index in the collateral bond's schedule
    function payCoupon(uint256 repoId, uint256 index) external;

    /// @notice The next coupon owed on `repoId` (dates 0 when none), the units of record it is owed on (its amount is
    /// the bond's `couponAmount(units)`), and the parties' election.
    function couponOwed(uint256 repoId)
        external
        view
        returns (uint256 index, uint64 recordDate, uint64 paymentDate, uint256 units, bool toRP);
}
