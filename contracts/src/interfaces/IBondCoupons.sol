// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

/// @title IBondCoupons
/// @notice A bond's coupon schedule: an annual rate paid in equal periodic coupons, in a cash token, to the holders of
/// record at each coupon's record date, on its payment date. The engine reads it to manufacture payments (GMRA 5)
/// for collateral it holds in escrow; the paying agent pays the engine's share through the engine.
interface IBondCoupons {
    /// @notice The issuer set the schedule (once).
    /// @param couponToken the cash token coupons are paid in
    /// @param periodsPerYear coupons per year (each pays rate / periodsPerYear of nominal)
    /// @param count number of coupons
    event CouponScheduleSet(address indexed couponToken, uint8 periodsPerYear, uint256 count);

    /// @notice The schedule is already set, or is malformed: dates must satisfy
    /// `recordDate[i] <= paymentDate[i] < recordDate[i+1]` and the last payment may not pass the bond's maturity.
    error BondInvalidCouponSchedule();
    /// @notice No coupon `index` in the schedule.
    error BondUnknownCoupon(uint256 index);

    /// @notice Sets the coupon schedule, once. Requirements: `ISSUER_ROLE`.
    /// Emits {CouponScheduleSet}.
    /// @param couponToken the cash token the coupons are paid in (nonzero)
    /// @param periodsPerYear 1, 2, 4 or 12
    /// @param recordDates record date of each coupon (holders at its end are paid)
    /// @param paymentDates payment date of each coupon
    function setCouponSchedule(
        address couponToken,
        uint8 periodsPerYear,
        uint64[] calldata recordDates,
        uint64[] calldata paymentDates
    ) external;

    /// @notice The first coupon at or after `from` whose record date is at or after `heldSince`, i.e. the next coupon
    /// a holder since `heldSince` that was paid up to `from` - 1 is owed. `index` equals {couponCount} (and both dates
    /// are 0) when there is none.
    function nextCoupon(uint64 heldSince, uint256 from)
        external
        view
        returns (uint256 index, uint64 recordDate, uint64 paymentDate);

    /// @notice Record and payment dates of coupon `index`.
    function couponDates(uint256 index) external view returns (uint64 recordDate, uint64 paymentDate);

    /// @notice One coupon on `units` smallest units of the bond, in smallest units of {couponToken}, rounded down.
    function couponAmount(uint256 units) external view returns (uint256);

    /// @notice The cash token coupons are paid in (zero before the schedule is set).
    function couponToken() external view returns (address);

    /// @notice Number of coupons in the schedule.
    function couponCount() external view returns (uint256);
}
