// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";
import {SignedMath} from "@openzeppelin/contracts/utils/math/SignedMath.sol";

/// @title RepoMath
/// @notice The engine's arithmetic: price differential, repurchase price, haircut and exposure (GMRA 2011, seconds
/// precision). Every result is exact up to one final rounding, and every rounding is in the cash lender's favour:
/// PD toward +infinity (for either sign of the rate), collateral values down.
library RepoMath {
    /// @notice Basis points in one.
    uint256 internal constant BPS = 10_000;
    /// @notice Seconds in a day.
    uint256 internal constant SECONDS_PER_DAY = 86_400;
    /// @notice Scale of rates (1e18 = 100% a year).
    uint256 internal constant RATE_SCALE = 1e18;

    /// @notice `PP × rate × elapsed / (basis × 86400 × 1e18)` rounded toward +infinity.
    /// @dev One 512-bit mulDiv, so the only rounding is the last one: a positive PD is rounded up (ceil), a negative
    /// one has its magnitude rounded down, which also moves it toward +infinity. The caller bounds |rate| (the
    /// engine: MAX_ABS_RATE), so `|rate| × elapsed` fits in 256 bits; an out-of-range result reverts (SafeCast).
    /// @param purchasePrice PP in cash-token smallest units
    /// @param rate annual rate, 1e18 scale, signed
    /// @param basis day-count basis (360 or 365)
    /// @param elapsed seconds of accrual
    /// @return pd the signed price differential
    function priceDifferential(uint256 purchasePrice, int256 rate, uint16 basis, uint256 elapsed)
        internal
        pure
        returns (int256 pd)
    {
        if (rate == 0 || elapsed == 0 || purchasePrice == 0) return 0;
        uint256 denominator = uint256(basis) * SECONDS_PER_DAY * RATE_SCALE;
        uint256 rateTime = SignedMath.abs(rate) * elapsed;
        if (rate > 0) {
            return SafeCast.toInt256(Math.mulDiv(purchasePrice, rateTime, denominator, Math.Rounding.Ceil));
        }
        return -SafeCast.toInt256(Math.mulDiv(purchasePrice, rateTime, denominator, Math.Rounding.Floor));
    }

    /// @notice Seconds of accrual in the current rate period up to `at`: from `periodStart` to `min(at, maturity)`
    /// (no cap when `maturity` is 0), never negative.
    /// @param periodStart t0 of the current rate period
    /// @param maturity maturity, 0 for an open repo
    /// @param at the time of interest
    /// @return seconds of accrual
    function accrualSeconds(uint64 periodStart, uint64 maturity, uint64 at) internal pure returns (uint256) {
        uint64 end = (maturity != 0 && at > maturity) ? maturity : at;
        return end > periodStart ? end - periodStart : 0;
    }

    /// @notice `RP = max(0, PP + crystallizedPD + PD(current period))`.
    /// @param purchasePrice PP
    /// @param crystallizedPD PD of earlier rate periods
    /// @param rate current rate
    /// @param basis day-count basis
    /// @param periodStart t0 of the current rate period
    /// @param maturity maturity (0 = open repo)
    /// @param at time
    /// @return the repurchase price in cash-token smallest units
    function repurchasePrice(
        uint256 purchasePrice,
        int256 crystallizedPD,
        int256 rate,
        uint16 basis,
        uint64 periodStart,
        uint64 maturity,
        uint64 at
    ) internal pure returns (uint256) {
        int256 pd = priceDifferential(purchasePrice, rate, basis, accrualSeconds(periodStart, maturity, at));
        int256 rp = SafeCast.toInt256(purchasePrice) + crystallizedPD + pd;
        // casting to 'uint256' is safe because rp > 0 is checked first
        // forge-lint: disable-next-line(unsafe-typecast)
        return rp > 0 ? uint256(rp) : 0;
    }

    /// @notice `floor(value × (10000 − haircutBps) / 10000)`.
    /// @param value market value
    /// @param haircutBps haircut, below 10000
    /// @return the haircut-adjusted value
    function applyHaircut(uint256 value, uint16 haircutBps) internal pure returns (uint256) {
        return Math.mulDiv(value, BPS - haircutBps, BPS);
    }

    /// @notice `E = RP − adjustedCollateralValue − cashMargin`, signed.
    /// @param rp repurchase price now
    /// @param adjustedCollateralValue haircut-adjusted collateral value
    /// @param cashMargin cash margin held
    /// @return the exposure of the cash lender
    function exposure(uint256 rp, uint256 adjustedCollateralValue, uint256 cashMargin) internal pure returns (int256) {
        return SafeCast.toInt256(rp) - SafeCast.toInt256(adjustedCollateralValue) - SafeCast.toInt256(cashMargin);
    }
}
