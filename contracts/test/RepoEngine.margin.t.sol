// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {IPriceOracle} from "../src/interfaces/IPriceOracle.sol";
import {IRepoEngine} from "../src/interfaces/IRepoEngine.sol";
import {RepoFixture} from "./utils/RepoFixture.sol";

/// @dev Default repo at the start: MV = 1,050,000 × 98.5 = 103,425,000 cents, haircut-adjusted 101,356,500,
/// RP = 100,000,000, so E = −1,356,500. At a price of 90: adjusted 92,610,000 and E = 7,390,000.
contract RepoEngineMarginTest is RepoFixture {
    uint256 internal constant CALL_AT_90 = 7_390_000;

    function _called() internal returns (uint256 repoId) {
        repoId = _openOpenRepo();
        _setBondPrice(90e18);
        engine.callMargin(repoId);
    }

    // ------------------------------------------------------------------ exposure

    function test_exposure_matchesMethodB() public {
        uint256 repoId = _openOpenRepo();
        assertEq(engine.exposure(repoId), int256(PP) - int256(101_356_500));
        assertEq(engine.collateralValue(repoId), 101_356_500);
    }

    function test_exposure_revertsIfPriceStale() public {
        uint256 repoId = _openOpenRepo();
        vm.warp(block.timestamp + ORACLE_MAX_AGE + 1);
        vm.expectRevert();
        engine.exposure(repoId);
    }

    function test_exposure_revertsIfUnknown() public {
        vm.expectRevert(abi.encodeWithSelector(IRepoEngine.RepoUnknown.selector, 3));
        engine.exposure(3);
    }

    function test_collateralValue_revertsIfUnknown() public {
        vm.expectRevert(abi.encodeWithSelector(IRepoEngine.RepoUnknown.selector, 3));
        engine.collateralValue(3);
    }

    /// @dev Reference: E·1e22 computed exactly as a rational (no intermediate rounding) must not exceed the engine's
    /// E·1e22 (lender's favour) and trail it by less than two units (two floors: MV and the haircut).
    function testFuzz_exposure_lenderFavouredWithinTwoUnits(
        uint256 amount,
        uint256 price,
        uint16 haircut,
        uint256 margin,
        uint256 elapsed
    ) public {
        amount = bound(amount, 1, 1e15);
        price = bound(price, 1, 1e24);
        haircut = uint16(bound(haircut, 0, 9_999));
        margin = bound(margin, 0, 1e12);
        elapsed = bound(elapsed, 0, 300 days);
        IRepoEngine.RepoTerms memory t = _terms(0);
        t.collateralAmount = amount;
        t.haircutBps = haircut;
        _mintBond(seller, amount);
        _mintCash(seller, margin);
        uint256 repoId = _open(t);
        if (margin > 0) {
            vm.prank(seller);
            engine.postMargin(repoId, 0, margin);
        }
        vm.warp(block.timestamp + elapsed);
        _setBondPrice(price);

        int256 e = engine.exposure(repoId);
        uint256 rp = PP + uint256(_refPD(PP, RATE, 360, elapsed));
        // Independent formula for the engine's value: E = RP − floor(floor(amount·price/1e18)·(1e4 − h)/1e4) − margin.
        assertEq(e, int256(rp) - int256(_refAdjusted(amount, price, haircut)) - int256(margin));
        int256 exactScaled =
            int256(rp * 1e22) - int256(amount * price * (10_000 - uint256(haircut))) - int256(margin * 1e22);
        assertGe(e * 1e22, exactScaled); // rounding favours the cash lender
        assertLt(e * 1e22 - exactScaled, int256(2e22)); // by less than two units
    }

    // ------------------------------------------------------------------ callMargin

    function test_callMargin_recordsCallAndDeadline() public {
        uint256 repoId = _openOpenRepo();
        _setBondPrice(90e18);
        vm.expectEmit(address(engine));
        emit IRepoEngine.MarginCalled(repoId, carol, CALL_AT_90, uint64(block.timestamp + CURE));
        vm.prank(carol);
        engine.callMargin(repoId);
        IRepoEngine.Repo memory r = engine.getRepo(repoId);
        assertEq(uint256(r.status), uint256(IRepoEngine.RepoStatus.MARGIN_CALLED));
        assertEq(r.marginCallOutstanding, CALL_AT_90);
        assertEq(uint256(r.cureDeadline), block.timestamp + CURE);
    }

    function test_callMargin_revertsIfBelowThreshold() public {
        uint256 repoId = _openOpenRepo();
        int256 e = engine.exposure(repoId);
        vm.expectRevert(abi.encodeWithSelector(IRepoEngine.RepoExposureBelowThreshold.selector, repoId, e, MTA));
        engine.callMargin(repoId);
    }

    function test_callMargin_revertsAtExactThreshold() public {
        IRepoEngine.RepoTerms memory t = _terms(0);
        t.collateralAmount = 1_000_000;
        t.haircutBps = 0;
        t.minTransferAmount = 1_500_000; // E = 100,000,000 − 98,500,000 = 1,500,000
        uint256 repoId = _open(t);
        vm.expectRevert(
            abi.encodeWithSelector(
                IRepoEngine.RepoExposureBelowThreshold.selector, repoId, int256(1_500_000), 1_500_000
            )
        );
        engine.callMargin(repoId);
    }

    function test_callMargin_revertsIfAlreadyCalled() public {
        uint256 repoId = _called();
        vm.expectRevert(
            abi.encodeWithSelector(IRepoEngine.RepoInvalidStatus.selector, repoId, IRepoEngine.RepoStatus.MARGIN_CALLED)
        );
        engine.callMargin(repoId);
    }

    function test_callMargin_revertsIfUnknown() public {
        vm.expectRevert(abi.encodeWithSelector(IRepoEngine.RepoUnknown.selector, 9));
        engine.callMargin(9);
    }

    function test_callMargin_revertsIfPriceStale() public {
        uint256 repoId = _openOpenRepo();
        uint64 postedAt = uint64(block.timestamp);
        vm.warp(block.timestamp + ORACLE_MAX_AGE + 1);
        vm.expectRevert(
            abi.encodeWithSelector(
                IPriceOracle.PriceStale.selector, address(bond), address(cash), postedAt, ORACLE_MAX_AGE
            )
        );
        engine.callMargin(repoId);
    }

    // ------------------------------------------------------------------ postMargin

    function test_postMargin_cashReducesCall() public {
        uint256 repoId = _called();
        uint256 engineCash = cash.balanceOf(address(engine));
        vm.expectEmit(address(engine));
        emit IRepoEngine.MarginPosted(repoId, 0, 3_000_000, CALL_AT_90 - 3_000_000);
        vm.prank(seller);
        engine.postMargin(repoId, 0, 3_000_000);
        IRepoEngine.Repo memory r = engine.getRepo(repoId);
        assertEq(r.marginCallOutstanding, CALL_AT_90 - 3_000_000);
        assertEq(r.cashMargin, 3_000_000);
        assertEq(uint256(r.status), uint256(IRepoEngine.RepoStatus.MARGIN_CALLED));
        assertEq(cash.balanceOf(address(engine)), engineCash + 3_000_000);
    }

    function test_postMargin_collateralAtHaircutValueCuresCall() public {
        uint256 repoId = _called();
        vm.prank(seller);
        engine.postMargin(repoId, 0, 3_000_000);
        // 50,000 bonds at 90 cents less 2% = 4,410,000 >= 4,390,000 outstanding.
        vm.expectEmit(address(engine));
        emit IRepoEngine.MarginPosted(repoId, 50_000, 0, 0);
        vm.expectEmit(address(engine));
        emit IRepoEngine.MarginCallCured(repoId);
        vm.prank(seller);
        engine.postMargin(repoId, 50_000, 0);
        IRepoEngine.Repo memory r = engine.getRepo(repoId);
        assertEq(uint256(r.status), uint256(IRepoEngine.RepoStatus.OPEN));
        assertEq(r.marginCallOutstanding, 0);
        assertEq(uint256(r.cureDeadline), 0);
        assertEq(r.collateralAmount, COLLATERAL + 50_000);
        assertEq(bond.balanceOf(address(engine)), COLLATERAL + 50_000);
        assertLe(engine.exposure(repoId), int256(0));
    }

    function test_postMargin_collateralJustShortLeavesCall() public {
        uint256 repoId = _called();
        // 83,786 bonds: floor(83,786 × 90) = 7,540,740; × 0.98 = 7,389,925.2 → 7,389,925 < 7,390,000.
        vm.prank(seller);
        engine.postMargin(repoId, 83_786, 0);
        assertEq(engine.getRepo(repoId).marginCallOutstanding, 75);
        vm.prank(seller);
        engine.postMargin(repoId, 0, 75);
        assertEq(uint256(engine.getRepo(repoId).status), uint256(IRepoEngine.RepoStatus.OPEN));
    }

    function test_postMargin_whenOpenAddsWithoutCall() public {
        uint256 repoId = _openOpenRepo();
        vm.recordLogs();
        vm.prank(seller);
        engine.postMargin(repoId, 10, 20);
        assertEq(vm.getRecordedLogs().length, 3, "MarginPosted and two Transfers, no cure");
        IRepoEngine.Repo memory r = engine.getRepo(repoId);
        assertEq(r.collateralAmount, COLLATERAL + 10);
        assertEq(r.cashMargin, 20);
        assertEq(uint256(r.status), uint256(IRepoEngine.RepoStatus.OPEN));
    }

    function test_postMargin_cashWorksWithStalePrice() public {
        uint256 repoId = _called();
        vm.warp(block.timestamp + ORACLE_MAX_AGE / 2 + 1);
        vm.warp(block.timestamp + ORACLE_MAX_AGE / 2 + 1);
        vm.prank(seller);
        engine.postMargin(repoId, 0, CALL_AT_90);
        assertEq(uint256(engine.getRepo(repoId).status), uint256(IRepoEngine.RepoStatus.OPEN));
    }

    function test_postMargin_revertsIfZero() public {
        uint256 repoId = _openOpenRepo();
        vm.expectRevert(abi.encodeWithSelector(IRepoEngine.RepoZeroAmount.selector));
        vm.prank(seller);
        engine.postMargin(repoId, 0, 0);
    }

    function test_postMargin_revertsIfNotSeller() public {
        uint256 repoId = _openOpenRepo();
        vm.expectRevert(abi.encodeWithSelector(IRepoEngine.RepoNotSeller.selector, repoId, buyer));
        vm.prank(buyer);
        engine.postMargin(repoId, 0, 1);
    }

    function test_postMargin_revertsIfDefaulted() public {
        uint256 repoId = _called();
        _skip(CURE + 1);
        engine.declareDefault(repoId);
        vm.expectRevert(
            abi.encodeWithSelector(IRepoEngine.RepoInvalidStatus.selector, repoId, IRepoEngine.RepoStatus.DEFAULTED)
        );
        vm.prank(seller);
        engine.postMargin(repoId, 0, 1);
    }

    function test_postMargin_revertsIfUnknown() public {
        vm.expectRevert(abi.encodeWithSelector(IRepoEngine.RepoUnknown.selector, 4));
        vm.prank(seller);
        engine.postMargin(4, 0, 1);
    }

    // ------------------------------------------------------------------ withdrawExcess

    function test_withdrawExcess_returnsCollateral() public {
        uint256 repoId = _openOpenRepo();
        uint256 sellerBond = bond.balanceOf(seller);
        vm.expectEmit(address(engine));
        emit IRepoEngine.ExcessWithdrawn(repoId, 10_000, 0);
        vm.prank(seller);
        engine.withdrawExcess(repoId, 10_000, 0);
        assertEq(bond.balanceOf(seller), sellerBond + 10_000);
        assertEq(engine.getRepo(repoId).collateralAmount, COLLATERAL - 10_000);
        assertEq(engine.exposure(repoId), int256(-391_200));
    }

    function test_withdrawExcess_returnsCash() public {
        uint256 repoId = _openOpenRepo();
        vm.prank(seller);
        engine.postMargin(repoId, 0, 500_000);
        uint256 sellerCash = cash.balanceOf(seller);
        vm.prank(seller);
        engine.withdrawExcess(repoId, 0, 500_000);
        assertEq(cash.balanceOf(seller), sellerCash + 500_000);
        assertEq(engine.getRepo(repoId).cashMargin, 0);
    }

    function test_withdrawExcess_revertsIfItUndercollateralizes() public {
        uint256 repoId = _openOpenRepo();
        vm.expectRevert(
            abi.encodeWithSelector(IRepoEngine.RepoWithdrawalUndercollateralizes.selector, repoId, int256(91_450))
        );
        vm.prank(seller);
        engine.withdrawExcess(repoId, 15_000, 0);
    }

    function test_withdrawExcess_revertsIfExcessBelowThreshold() public {
        IRepoEngine.RepoTerms memory t = _terms(0);
        t.minTransferAmount = 1_356_500;
        uint256 repoId = _open(t);
        vm.expectRevert(
            abi.encodeWithSelector(IRepoEngine.RepoExcessBelowThreshold.selector, repoId, int256(-1_356_500), 1_356_500)
        );
        vm.prank(seller);
        engine.withdrawExcess(repoId, 1, 0);
    }

    function test_withdrawExcess_revertsIfMarginCalled() public {
        uint256 repoId = _called();
        vm.expectRevert(
            abi.encodeWithSelector(IRepoEngine.RepoInvalidStatus.selector, repoId, IRepoEngine.RepoStatus.MARGIN_CALLED)
        );
        vm.prank(seller);
        engine.withdrawExcess(repoId, 1, 0);
    }

    function test_withdrawExcess_revertsIfMoreCollateralThanEscrow() public {
        uint256 repoId = _openOpenRepo();
        vm.expectRevert(
            abi.encodeWithSelector(IRepoEngine.RepoInsufficientCollateral.selector, repoId, COLLATERAL, COLLATERAL + 1)
        );
        vm.prank(seller);
        engine.withdrawExcess(repoId, COLLATERAL + 1, 0);
    }

    function test_withdrawExcess_revertsIfMoreCashThanMargin() public {
        uint256 repoId = _openOpenRepo();
        vm.expectRevert(abi.encodeWithSelector(IRepoEngine.RepoInsufficientCashMargin.selector, repoId, 0, 1));
        vm.prank(seller);
        engine.withdrawExcess(repoId, 0, 1);
    }

    function test_withdrawExcess_revertsIfZero() public {
        uint256 repoId = _openOpenRepo();
        vm.expectRevert(abi.encodeWithSelector(IRepoEngine.RepoZeroAmount.selector));
        vm.prank(seller);
        engine.withdrawExcess(repoId, 0, 0);
    }

    function test_withdrawExcess_revertsIfNotSeller() public {
        uint256 repoId = _openOpenRepo();
        vm.expectRevert(abi.encodeWithSelector(IRepoEngine.RepoNotSeller.selector, repoId, buyer));
        vm.prank(buyer);
        engine.withdrawExcess(repoId, 1, 0);
    }

    function test_withdrawExcess_revertsIfUnknown() public {
        vm.expectRevert(abi.encodeWithSelector(IRepoEngine.RepoUnknown.selector, 8));
        vm.prank(seller);
        engine.withdrawExcess(8, 1, 0);
    }

    function testFuzz_withdrawExcess_neverLeavesPositiveExposure(uint256 collateralOut, uint256 price) public {
        uint256 repoId = _openOpenRepo();
        price = bound(price, 95e18, 120e18);
        _setBondPrice(price);
        collateralOut = bound(collateralOut, 1, COLLATERAL);
        vm.prank(seller);
        try engine.withdrawExcess(repoId, collateralOut, 0) {
            assertLe(engine.exposure(repoId), int256(0));
        } catch {
            assertEq(engine.getRepo(repoId).collateralAmount, COLLATERAL);
        }
    }
}
