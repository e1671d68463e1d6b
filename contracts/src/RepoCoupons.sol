// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {IBondCoupons} from "./interfaces/IBondCoupons.sol";
import {IRepoCoupons} from "./interfaces/IRepoCoupons.sol";

/// @title RepoCoupons
/// @notice The engine's reading of collateral coupon schedules and the units kept for a coupon whose record date
/// fell during a repo that ended before it was paid (see {IRepoCoupons}).
abstract contract RepoCoupons is IRepoCoupons {
    /// @dev Units in escrow when a repo ended (repurchase or close-out) with a coupon recorded and not yet paid: the
    /// coupons whose record date is at or before `endedAt` are still owed on them.
    struct EndedHolding {
        uint128 units;
        uint40 endedAt;
    }

    mapping(uint256 repoId => EndedHolding) private _ended;

    /// @dev The next coupon of `bond` owed to a holder since `heldSince` paid up to `from` - 1; a collateral token
    /// without a coupon schedule has none (index max, dates 0). A plain staticcall read in place (no try/catch, no
    /// ABI decoder): a token without `nextCoupon` (the call fails or answers short) has no coupons either.
    function _nextCoupon(address bond, uint64 heldSince, uint256 from)
        internal
        view
        returns (uint256 index, uint64 recordDate, uint64 paymentDate)
    {
        bytes4 selector = IBondCoupons.nextCoupon.selector;
        bool ok;
        assembly ("memory-safe") {
            let m := mload(0x40)
            mstore(m, selector)
            mstore(add(m, 4), heldSince)
            mstore(add(m, 36), from)
            // The call first: Yul evaluates arguments right to left.
            ok := staticcall(gas(), bond, m, 68, m, 96)
            ok := and(ok, gt(returndatasize(), 95))
            if ok {
                index := mload(m)
                recordDate := and(mload(add(m, 32)), 0xffffffffffffffff)
                paymentDate := and(mload(add(m, 64)), 0xffffffffffffffff)
            }
        }
        if (!ok) return (type(uint256).max, 0, 0);
    }

    /// @dev Reverts {RepoCouponPending} if a coupon owed on the repo's collateral has passed its record date unpaid.
    function _requireNoCouponPending(uint256 repoId, address bond, uint64 heldSince, uint256 from) internal view {
        (uint256 index, uint64 recordDate,) = _nextCoupon(bond, heldSince, from);
        if (recordDate != 0 && recordDate <= block.timestamp) revert RepoCouponPending(repoId, index);
    }

    /// @dev At a repurchase or close-out: keeps `units` for a coupon recorded but not yet paid.
    function _keepCouponUnits(uint256 repoId, address bond, uint64 heldSince, uint256 from, uint256 units) internal {
        (, uint64 recordDate,) = _nextCoupon(bond, heldSince, from);
        // Fits: units are a repo's 128-bit collateral amount; now < 2^40.
        if (recordDate != 0 && recordDate <= block.timestamp) {
            _ended[repoId] = EndedHolding(uint128(units), uint40(block.timestamp));
        }
    }

    /// @dev Units an ended repo is owed a coupon recorded at `recordDate` on (0 if recorded after the repo ended).
    function _endedCouponUnits(uint256 repoId, uint64 recordDate) internal view returns (uint256) {
        EndedHolding storage e = _ended[repoId];
        return recordDate <= e.endedAt ? e.units : 0;
    }
}
