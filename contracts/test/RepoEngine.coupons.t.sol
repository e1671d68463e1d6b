// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {IRepoClaims} from "../src/interfaces/IRepoClaims.sol";
import {IRepoCoupons} from "../src/interfaces/IRepoCoupons.sol";
import {IRepoEngine} from "../src/interfaces/IRepoEngine.sol";
import {CouponFixture} from "./utils/CouponFixture.sol";

/// @notice Manufactured payments (GMRA 5): a coupon on escrowed collateral reaches the seller on the payment date,
/// or reduces the repurchase price by the parties' election; margin collateral earns it too; the record date
/// decides who is owed.
contract RepoEngineCouponsTest is CouponFixture {
    function _assertEscrow() internal view {
        uint256 liveCash;
        uint256 liveBond;
        for (uint256 id = 1; id <= engine.repoCount(); ++id) {
            IRepoEngine.Repo memory r = engine.getRepo(id);
            if (r.status == IRepoEngine.RepoStatus.REPURCHASED || r.status == IRepoEngine.RepoStatus.CLOSED_OUT) {
                continue;
            }
            liveCash += r.cashMargin;
            liveBond += r.collateralAmount;
        }
        assertEq(cash.balanceOf(address(engine)), liveCash + engine.totalClaims(address(cash)));
        assertEq(bond.balanceOf(address(engine)), liveBond + engine.totalClaims(address(bond)));
    }

    function _elect(uint256 repoId, bool toRP) internal {
        IRepoEngine.Amendment memory a =
            _amendment(repoId, uint8(IRepoEngine.AmendmentKind.COUPON_ELECTION), 0, toRP ? int256(1) : int256(0));
        engine.amend(a, _signAmendment(sellerKey, a), _signAmendment(buyerKey, a));
    }

    function test_payCoupon_passesCouponToSeller() public {
        uint256 repoId = _openTermRepo();
        _at(PAY0);
        uint256 sellerCash = cash.balanceOf(seller);
        uint256 agentCash = cash.balanceOf(agent);
        vm.expectEmit(address(engine));
        emit IRepoCoupons.CouponManufactured(repoId, address(bond), 0, agent, seller, COUPON, false);
        _payCoupon(repoId, 0);
        assertEq(cash.balanceOf(seller), sellerCash + COUPON);
        assertEq(cash.balanceOf(agent), agentCash - COUPON);
        (uint256 next,,,,) = engine.couponOwed(repoId);
        assertEq(next, 1);
        _assertEscrow();
    }

    function test_couponOwed_reportsNextCoupon() public {
        uint256 repoId = _openTermRepo();
        (uint256 index, uint64 rd, uint64 pd, uint256 units, bool toRP) = engine.couponOwed(repoId);
        assertEq(index, 0);
        assertEq(rd, RECORD0);
        assertEq(pd, PAY0);
        assertEq(units, COLLATERAL);
        assertEq(bond.couponAmount(units), COUPON);
        assertFalse(toRP);
    }

    function test_payCoupon_revertsBeforePaymentDate() public {
        uint256 repoId = _openTermRepo();
        _at(PAY0 - 1);
        vm.expectRevert(abi.encodeWithSelector(IRepoCoupons.RepoCouponNotDue.selector, repoId, 0, PAY0));
        _payCoupon(repoId, 0);
    }

    function test_payCoupon_revertsWhenPaidTwice() public {
        uint256 repoId = _openTermRepo();
        _at(PAY0);
        _payCoupon(repoId, 0);
        vm.expectRevert(abi.encodeWithSelector(IRepoCoupons.RepoCouponNotOwed.selector, repoId, 0, 1));
        _payCoupon(repoId, 0);
    }

    function test_payCoupon_revertsOutOfOrder() public {
        uint256 repoId = _openOpenRepo();
        _at(PAY1);
        vm.expectRevert(abi.encodeWithSelector(IRepoCoupons.RepoCouponNotOwed.selector, repoId, 1, 0));
        _payCoupon(repoId, 1);
        _payCoupon(repoId, 0);
        _payCoupon(repoId, 1);
    }

    function test_payCoupon_notOwedWhenOpenedAfterRecordDate() public {
        _at(RECORD0 + 1);
        uint256 repoId = _openTermRepo();
        _at(PAY0);
        vm.expectRevert(abi.encodeWithSelector(IRepoCoupons.RepoCouponNotOwed.selector, repoId, 0, 1));
        _payCoupon(repoId, 0);
    }

    function test_payCoupon_onMarginCollateral() public {
        uint256 repoId = _openTermRepo();
        vm.prank(seller);
        engine.postMargin(repoId, 100_000, 0);
        _at(PAY0);
        uint256 sellerCash = cash.balanceOf(seller);
        _payCoupon(repoId, 0);
        // (1,050,000 + 100,000) × 1.25% = 14,375.00
        assertEq(cash.balanceOf(seller), sellerCash + 14_375_00);
    }

    function test_payCoupon_electionReducesRepurchasePrice() public {
        uint256 repoId = _openTermRepo();
        _elect(repoId, true);
        _at(PAY0);
        uint256 rpBefore = engine.repurchasePrice(repoId, uint64(block.timestamp));
        uint256 buyerCash = cash.balanceOf(buyer);
        uint256 sellerCash = cash.balanceOf(seller);
        vm.expectEmit(address(engine));
        emit IRepoCoupons.CouponManufactured(repoId, address(bond), 0, agent, buyer, COUPON, true);
        _payCoupon(repoId, 0);
        assertEq(engine.repurchasePrice(repoId, uint64(block.timestamp)), rpBefore - COUPON);
        assertEq(cash.balanceOf(buyer), buyerCash + COUPON);
        assertEq(cash.balanceOf(seller), sellerCash);
        _assertEscrow();
    }

    function test_amend_couponElectionCanBeUndone() public {
        uint256 repoId = _openTermRepo();
        vm.expectEmit(address(engine));
        emit IRepoCoupons.CouponElectionChanged(repoId, true);
        _elect(repoId, true);
        _elect(repoId, false);
        _at(PAY0);
        uint256 sellerCash = cash.balanceOf(seller);
        _payCoupon(repoId, 0);
        assertEq(cash.balanceOf(seller), sellerCash + COUPON);
    }

    function test_collateralChanges_revertWhileCouponPending() public {
        uint256 repoId = _openTermRepo();
        vm.prank(seller);
        engine.postMargin(repoId, 0, 500_000_00);
        _at(RECORD0);
        bytes memory pending = abi.encodeWithSelector(IRepoCoupons.RepoCouponPending.selector, repoId, 0);
        vm.startPrank(seller);
        vm.expectRevert(pending);
        engine.postMargin(repoId, 1, 0);
        vm.expectRevert(pending);
        engine.withdrawExcess(repoId, 1, 0);
        // Cash margin is not collateral of record: it still moves.
        engine.postMargin(repoId, 0, 1);
        vm.stopPrank();
        uint64 deadline = uint64(block.timestamp + 1 hours);
        bytes memory sig = _signSubstitution(buyerKey, repoId, address(bond2), 1_000_000, 77, deadline);
        vm.prank(seller);
        vm.expectRevert(pending);
        engine.substitute(repoId, address(bond2), 1_000_000, sig, 77, deadline);
        // Once paid, collateral moves again.
        _at(PAY0);
        _payCoupon(repoId, 0);
        vm.prank(seller);
        engine.postMargin(repoId, 1, 0);
    }

    function test_repurchaseBetweenRecordAndPayment_couponStillReachesSeller() public {
        uint256 repoId = _open(_terms(RECORD0 + 12 hours));
        _at(RECORD0 + 12 hours);
        vm.prank(seller);
        engine.repurchase(repoId);
        _at(PAY0);
        uint256 sellerCash = cash.balanceOf(seller);
        _payCoupon(repoId, 0);
        assertEq(cash.balanceOf(seller), sellerCash + COUPON);
        // The next coupon's record date falls after the repo ended: not owed.
        _at(PAY1);
        vm.expectRevert(abi.encodeWithSelector(IRepoCoupons.RepoCouponNotOwed.selector, repoId, 1, 1));
        _payCoupon(repoId, 1);
    }

    function test_repurchaseBeforeRecordDate_noCouponOwed() public {
        uint256 repoId = _open(_terms(RECORD0 - 1));
        _at(RECORD0 - 1);
        vm.prank(seller);
        engine.repurchase(repoId);
        _at(PAY0);
        vm.expectRevert(abi.encodeWithSelector(IRepoCoupons.RepoCouponNotOwed.selector, repoId, 0, 0));
        _payCoupon(repoId, 0);
    }

    function test_payCoupon_electionIgnoredAfterRepoEnded() public {
        uint256 repoId = _open(_terms(RECORD0 + 12 hours));
        _elect(repoId, true);
        _at(RECORD0 + 12 hours);
        vm.prank(seller);
        engine.repurchase(repoId);
        _at(PAY0);
        uint256 sellerCash = cash.balanceOf(seller);
        _payCoupon(repoId, 0);
        assertEq(cash.balanceOf(seller), sellerCash + COUPON);
    }

    function test_payCoupon_frozenSellerGetsClaim() public {
        uint256 repoId = _openTermRepo();
        _at(PAY0);
        vm.prank(admin);
        cash.freeze(seller);
        vm.expectEmit(address(engine));
        emit IRepoClaims.ClaimCredited(seller, address(cash), repoId, COUPON);
        _payCoupon(repoId, 0);
        assertEq(engine.claimOf(seller, address(cash)), COUPON);
        _assertEscrow();
        vm.prank(admin);
        cash.unfreeze(seller);
        uint256 sellerCash = cash.balanceOf(seller);
        vm.prank(seller);
        engine.claim(address(cash));
        assertEq(cash.balanceOf(seller), sellerCash + COUPON);
    }

    function test_payCoupon_duringDefaultBeforeCloseOut() public {
        uint256 repoId = _open(_terms(T0 + 5 days));
        _at(T0 + 5 days + GRACE + 1);
        engine.declareDefault(repoId);
        _at(PAY0);
        uint256 sellerCash = cash.balanceOf(seller);
        _payCoupon(repoId, 0);
        assertEq(cash.balanceOf(seller), sellerCash + COUPON);
    }

    function test_substitution_startsNewBondsCoupons() public {
        uint256 repoId = _openTermRepo();
        uint64 deadline = uint64(block.timestamp + 1 hours);
        bytes memory sig = _signSubstitution(buyerKey, repoId, address(bond2), 1_100_000, 77, deadline);
        vm.prank(seller);
        engine.substitute(repoId, address(bond2), 1_100_000, sig, 77, deadline);
        // bond2 has no schedule: nothing is owed, and its collateral moves freely.
        _at(PAY0);
        (uint256 index,, uint64 pd,,) = engine.couponOwed(repoId);
        assertEq(pd, 0);
        vm.expectRevert(abi.encodeWithSelector(IRepoCoupons.RepoCouponNotOwed.selector, repoId, 0, index));
        _payCoupon(repoId, 0);
        vm.prank(seller);
        engine.postMargin(repoId, 1, 0);
    }

    function testFuzz_payCoupon_amountAndConservation(uint256 extra, uint256 dt) public {
        extra = bound(extra, 0, 10_000_000);
        dt = bound(dt, 0, 30 days);
        uint256 repoId = _openOpenRepo();
        if (extra > 0) {
            vm.prank(seller);
            engine.postMargin(repoId, extra, 0);
        }
        _at(uint64(PAY0 + dt));
        uint256 units = COLLATERAL + extra;
        // Reference: units × 2.5% / 2 in cents, rounded down.
        uint256 expected = units * 25 * 100 / 2000;
        uint256 total = cash.totalSupply();
        uint256 sellerCash = cash.balanceOf(seller);
        _payCoupon(repoId, 0);
        assertEq(cash.balanceOf(seller) - sellerCash, expected);
        assertEq(cash.totalSupply(), total);
        _assertEscrow();
    }
}
