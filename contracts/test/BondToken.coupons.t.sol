// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {IAccessControl} from "@openzeppelin/contracts/access/IAccessControl.sol";
import {IBondCoupons} from "../src/interfaces/IBondCoupons.sol";
import {BaseFixture} from "./utils/BaseFixture.sol";

/// @notice The bond's coupon schedule: set once by the issuer, well ordered, amounts in the coupon token's units.
contract BondTokenCouponsTest is BaseFixture {
    function _dates(uint64 a, uint64 b, uint64 c, uint64 d) internal pure returns (uint64[] memory r, uint64[] memory p) {
        r = new uint64[](2);
        p = new uint64[](2);
        (r[0], p[0], r[1], p[1]) = (a, b, c, d);
    }

    function test_setCouponSchedule_setsOnce() public {
        (uint64[] memory r, uint64[] memory p) = _dates(T0 + 1 days, T0 + 2 days, T0 + 3 days, T0 + 4 days);
        vm.expectEmit(address(bond));
        emit IBondCoupons.CouponScheduleSet(address(cash), 2, 2);
        vm.prank(admin);
        bond.setCouponSchedule(address(cash), 2, r, p);
        assertEq(bond.couponCount(), 2);
        assertEq(bond.couponToken(), address(cash));
        (uint64 rd, uint64 pd) = bond.couponDates(1);
        assertEq(rd, T0 + 3 days);
        assertEq(pd, T0 + 4 days);
        vm.prank(admin);
        vm.expectRevert(IBondCoupons.BondInvalidCouponSchedule.selector);
        bond.setCouponSchedule(address(cash), 2, r, p);
    }

    function test_setCouponSchedule_revertsIfNotIssuer() public {
        (uint64[] memory r, uint64[] memory p) = _dates(T0 + 1 days, T0 + 2 days, T0 + 3 days, T0 + 4 days);
        vm.expectRevert(
            abi.encodeWithSelector(
                IAccessControl.AccessControlUnauthorizedAccount.selector, address(this), bond.ISSUER_ROLE()
            )
        );
        bond.setCouponSchedule(address(cash), 2, r, p);
    }

    function test_setCouponSchedule_revertsIfMisordered() public {
        (uint64[] memory r, uint64[] memory p) = _dates(T0 + 2 days, T0 + 1 days, T0 + 3 days, T0 + 4 days);
        vm.prank(admin);
        vm.expectRevert(IBondCoupons.BondInvalidCouponSchedule.selector);
        bond.setCouponSchedule(address(cash), 2, r, p);
        (r, p) = _dates(T0 + 1 days, T0 + 3 days, T0 + 3 days, T0 + 4 days);
        vm.prank(admin);
        vm.expectRevert(IBondCoupons.BondInvalidCouponSchedule.selector);
        bond.setCouponSchedule(address(cash), 2, r, p);
        (r, p) = _dates(T0 + 1 days, T0 + 2 days, T0 + 3 days, T0 + 11 * 365 days);
        vm.prank(admin);
        vm.expectRevert(IBondCoupons.BondInvalidCouponSchedule.selector);
        bond.setCouponSchedule(address(cash), 2, r, p);
        (r, p) = _dates(T0 + 1 days, T0 + 2 days, T0 + 3 days, T0 + 4 days);
        vm.prank(admin);
        vm.expectRevert(IBondCoupons.BondInvalidCouponSchedule.selector);
        bond.setCouponSchedule(address(cash), 3, r, p);
    }

    function test_nextCoupon_skipsRecordDatesBeforeHolding() public {
        (uint64[] memory r, uint64[] memory p) = _dates(T0 + 1 days, T0 + 2 days, T0 + 3 days, T0 + 4 days);
        vm.prank(admin);
        bond.setCouponSchedule(address(cash), 2, r, p);
        (uint256 i, uint64 rd,) = bond.nextCoupon(T0, 0);
        assertEq(i, 0);
        assertEq(rd, T0 + 1 days);
        (i,,) = bond.nextCoupon(T0 + 1 days + 1, 0);
        assertEq(i, 1);
        (i,,) = bond.nextCoupon(T0, 1);
        assertEq(i, 1);
        (uint256 none, uint64 rdNone, uint64 pdNone) = bond.nextCoupon(T0 + 5 days, 0);
        assertEq(none, 2);
        assertEq(rdNone, 0);
        assertEq(pdNone, 0);
    }

    /// @dev `nextCoupon` (binary search, and its one-word answer when nothing is owed: no schedule, the cursor past
    /// the end, or no record date since the holding began) against a linear reference, for any schedule length.
    function testFuzz_nextCoupon_matchesLinearReference(uint8 n, uint64 heldSince, uint16 from) public {
        n = uint8(bound(n, 0, 12));
        uint64[] memory r = new uint64[](n);
        uint64[] memory p = new uint64[](n);
        for (uint256 i; i < n; ++i) {
            r[i] = T0 + uint64(i) * 10 days + 1 days;
            p[i] = r[i] + 1 days;
        }
        if (n > 0) {
            vm.prank(admin);
            bond.setCouponSchedule(address(cash), 2, r, p);
        }
        heldSince = uint64(bound(heldSince, T0, T0 + 130 days));
        from = uint16(bound(from, 0, 14));
        uint256 expected = n;
        for (uint256 i; i < n; ++i) {
            if (r[i] >= heldSince && i >= from) {
                expected = i;
                break;
            }
        }
        (uint256 index, uint64 rd, uint64 pd) = bond.nextCoupon(heldSince, from);
        if (expected < n) {
            assertEq(index, expected);
            assertEq(rd, r[expected]);
            assertEq(pd, p[expected]);
        } else {
            assertEq(index, n);
            assertEq(rd, 0);
            assertEq(pd, 0);
        }
    }

    function testFuzz_couponAmount_matchesReference(uint128 units) public {
        (uint64[] memory r, uint64[] memory p) = _dates(T0 + 1 days, T0 + 2 days, T0 + 3 days, T0 + 4 days);
        vm.prank(admin);
        bond.setCouponSchedule(address(cash), 4, r, p);
        // 2.5% a year, quarterly, bond 0 decimals, cash 2 decimals: units × 0.625 cents... floor(units × 2.5 / 4).
        assertEq(bond.couponAmount(units), uint256(units) * 25 / 40);
    }

    function test_couponAmount_zeroWithoutSchedule() public view {
        assertEq(bond.couponAmount(1_000_000), 0);
    }
}
