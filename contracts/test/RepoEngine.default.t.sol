// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {IERC721Errors} from "@openzeppelin/contracts/interfaces/draft-IERC6093.sol";
import {IPriceOracle} from "../src/interfaces/IPriceOracle.sol";
import {IRepoEngine} from "../src/interfaces/IRepoEngine.sol";
import {RepoFixture} from "./utils/RepoFixture.sol";

contract RepoEngineDefaultTest is RepoFixture {
    /// @dev A term repo declared in default for not being repurchased; price refreshed.
    function _defaultedTermRepo() internal returns (uint256 repoId) {
        repoId = _openTermRepo();
        _skip(TERM + GRACE + 1);
        engine.declareDefault(repoId);
    }

    function _ceilUnits(uint256 owed, uint256 price) internal pure returns (uint256) {
        return (owed * 1e18 + price - 1) / price;
    }

    // ------------------------------------------------------------------ declareDefault

    function test_declareDefault_afterMaturityAndGrace() public {
        uint256 repoId = _openTermRepo();
        _skip(TERM + GRACE + 1);
        uint256 owed = PP + uint256(_refPD(PP, RATE, 360, TERM));
        vm.expectEmit(address(engine));
        emit IRepoEngine.RepoDefaulted(repoId, IRepoEngine.DefaultReason.NOT_REPURCHASED_AT_MATURITY, owed);
        vm.prank(carol);
        engine.declareDefault(repoId);
        assertEq(uint256(engine.getRepo(repoId).status), uint256(IRepoEngine.RepoStatus.DEFAULTED));
    }

    function test_declareDefault_revertsAtEndOfGrace() public {
        uint256 repoId = _openTermRepo();
        _skip(TERM + GRACE);
        vm.expectRevert(abi.encodeWithSelector(IRepoEngine.RepoNotInDefault.selector, repoId));
        engine.declareDefault(repoId);
    }

    function test_declareDefault_afterCureDeadline() public {
        uint256 repoId = _openOpenRepo();
        _setBondPrice(90e18);
        engine.callMargin(repoId);
        _skip(CURE + 1);
        vm.expectEmit(address(engine));
        emit IRepoEngine.RepoDefaulted(
            repoId, IRepoEngine.DefaultReason.MARGIN_NOT_CURED, PP + uint256(_refPD(PP, RATE, 360, CURE + 1))
        );
        engine.declareDefault(repoId);
    }

    function test_declareDefault_revertsAtCureDeadline() public {
        uint256 repoId = _openOpenRepo();
        _setBondPrice(90e18);
        engine.callMargin(repoId);
        _skip(CURE);
        vm.expectRevert(abi.encodeWithSelector(IRepoEngine.RepoNotInDefault.selector, repoId));
        engine.declareDefault(repoId);
    }

    function test_declareDefault_revertsForHealthyOpenRepo() public {
        uint256 repoId = _openOpenRepo();
        _skip(300 days);
        vm.expectRevert(abi.encodeWithSelector(IRepoEngine.RepoNotInDefault.selector, repoId));
        engine.declareDefault(repoId);
    }

    function test_declareDefault_revertsIfCured() public {
        uint256 repoId = _openOpenRepo();
        _setBondPrice(90e18);
        engine.callMargin(repoId);
        vm.prank(seller);
        engine.postMargin(repoId, 0, 7_390_000);
        _skip(CURE + 1);
        vm.expectRevert(abi.encodeWithSelector(IRepoEngine.RepoNotInDefault.selector, repoId));
        engine.declareDefault(repoId);
    }

    function test_declareDefault_revertsIfAlreadyDefaulted() public {
        uint256 repoId = _defaultedTermRepo();
        vm.expectRevert(
            abi.encodeWithSelector(IRepoEngine.RepoInvalidStatus.selector, repoId, IRepoEngine.RepoStatus.DEFAULTED)
        );
        engine.declareDefault(repoId);
    }

    function test_declareDefault_revertsIfRepurchased() public {
        uint256 repoId = _openTermRepo();
        _skip(TERM);
        vm.prank(seller);
        engine.repurchase(repoId);
        _skip(GRACE + 1);
        vm.expectRevert(
            abi.encodeWithSelector(IRepoEngine.RepoInvalidStatus.selector, repoId, IRepoEngine.RepoStatus.REPURCHASED)
        );
        engine.declareDefault(repoId);
    }

    function test_declareDefault_revertsIfUnknown() public {
        vm.expectRevert(abi.encodeWithSelector(IRepoEngine.RepoUnknown.selector, 3));
        engine.declareDefault(3);
    }

    // ------------------------------------------------------------------ closeOut

    function test_closeOut_holderTakesCollateralWorthOwed() public {
        uint256 repoId = _defaultedTermRepo();
        uint256 owed = PP + uint256(_refPD(PP, RATE, 360, TERM));
        uint256 units = _ceilUnits(owed, BOND_PRICE);
        uint256 buyerBond = bond.balanceOf(buyer);
        uint256 sellerBond = bond.balanceOf(seller);
        uint256 bondSupply = bond.totalSupply();

        vm.expectEmit(address(engine));
        emit IRepoEngine.RepoClosedOut(repoId, buyer, owed, 0, units, COLLATERAL - units);
        vm.prank(buyer);
        engine.closeOut(repoId);

        assertEq(units, 1_018_190);
        assertGe(units * BOND_PRICE / 1e18, owed, "holder covered");
        assertLt((units - 1) * BOND_PRICE / 1e18, owed, "not one unit more than needed");
        assertEq(bond.balanceOf(buyer), buyerBond + units);
        assertEq(bond.balanceOf(seller), sellerBond + COLLATERAL - units);
        assertEq(bond.balanceOf(address(engine)), 0);
        assertEq(bond.totalSupply(), bondSupply);
        assertEq(engine.shortfallOf(repoId), 0);
        assertEq(position.balanceOf(buyer), 0);
        IRepoEngine.Repo memory r = engine.getRepo(repoId);
        assertEq(uint256(r.status), uint256(IRepoEngine.RepoStatus.CLOSED_OUT));
        assertEq(r.collateralAmount, 0);
    }

    function test_closeOut_recordsShortfall() public {
        uint256 repoId = _defaultedTermRepo();
        _setBondPrice(80e18);
        uint256 owed = PP + uint256(_refPD(PP, RATE, 360, TERM));
        uint256 shortfall = owed - COLLATERAL * 80;
        vm.expectEmit(address(engine));
        emit IRepoEngine.RepoClosedOut(repoId, buyer, owed, 0, COLLATERAL, 0);
        vm.expectEmit(address(engine));
        emit IRepoEngine.RepoShortfallRecorded(repoId, buyer, seller, shortfall);
        vm.prank(buyer);
        engine.closeOut(repoId);
        assertEq(engine.shortfallOf(repoId), shortfall);
        assertEq(bond.balanceOf(address(engine)), 0);
    }

    function test_closeOut_cashMarginFirst() public {
        uint256 repoId = _openTermRepo();
        vm.prank(seller);
        engine.postMargin(repoId, 0, 1_000_000);
        _skip(TERM + GRACE + 1);
        engine.declareDefault(repoId);
        uint256 owed = PP + uint256(_refPD(PP, RATE, 360, TERM));
        uint256 units = _ceilUnits(owed - 1_000_000, BOND_PRICE);
        uint256 buyerCash = cash.balanceOf(buyer);
        vm.expectEmit(address(engine));
        emit IRepoEngine.RepoClosedOut(repoId, buyer, owed, 1_000_000, units, COLLATERAL - units);
        vm.prank(buyer);
        engine.closeOut(repoId);
        assertEq(cash.balanceOf(buyer), buyerCash + 1_000_000);
        assertEq(cash.balanceOf(address(engine)), 0);
    }

    function test_closeOut_cashMarginAboveOwedReturnsExcessAndAllCollateral() public {
        IRepoEngine.RepoTerms memory t = _terms(uint64(block.timestamp) + TERM);
        t.purchasePrice = 100_00;
        uint256 repoId = _open(t);
        vm.prank(seller);
        engine.postMargin(repoId, 0, 500_00);
        _skip(TERM + GRACE + 1);
        engine.declareDefault(repoId);
        vm.warp(block.timestamp + 2 days); // price stale: not needed when cash margin covers
        uint256 owed = engine.repurchasePrice(repoId, uint64(block.timestamp));
        uint256 sellerCash = cash.balanceOf(seller);
        uint256 sellerBond = bond.balanceOf(seller);
        uint256 buyerCash = cash.balanceOf(buyer);
        vm.prank(buyer);
        engine.closeOut(repoId);
        assertEq(cash.balanceOf(buyer), buyerCash + owed);
        assertEq(cash.balanceOf(seller), sellerCash + 500_00 - owed);
        assertEq(bond.balanceOf(seller), sellerBond + COLLATERAL);
        assertEq(engine.shortfallOf(repoId), 0);
    }

    function test_closeOut_byTransferredHolder() public {
        uint256 repoId = _defaultedTermRepo();
        vm.prank(buyer);
        position.transferFrom(buyer, carol, repoId);
        vm.expectRevert(abi.encodeWithSelector(IRepoEngine.RepoNotHolder.selector, repoId, buyer));
        vm.prank(buyer);
        engine.closeOut(repoId);
        uint256 carolBond = bond.balanceOf(carol);
        vm.prank(carol);
        engine.closeOut(repoId);
        assertGt(bond.balanceOf(carol), carolBond);
    }

    function test_closeOut_afterMarginDefault() public {
        uint256 repoId = _openOpenRepo();
        _setBondPrice(90e18);
        engine.callMargin(repoId);
        _skip(CURE + 1);
        _setBondPrice(90e18);
        engine.declareDefault(repoId);
        uint256 owed = engine.repurchasePrice(repoId, uint64(block.timestamp));
        vm.prank(buyer);
        engine.closeOut(repoId);
        assertEq(uint256(engine.getRepo(repoId).status), uint256(IRepoEngine.RepoStatus.CLOSED_OUT));
        // 1,050,000 bonds at 90 cents = 94,500,000 < owed: all collateral to the holder, the rest is a claim.
        assertEq(engine.shortfallOf(repoId), owed - 94_500_000);
    }

    function test_closeOut_revertsIfNotHolder() public {
        uint256 repoId = _defaultedTermRepo();
        vm.expectRevert(abi.encodeWithSelector(IRepoEngine.RepoNotHolder.selector, repoId, seller));
        vm.prank(seller);
        engine.closeOut(repoId);
    }

    function test_closeOut_revertsIfNotDefaulted() public {
        uint256 repoId = _openTermRepo();
        vm.expectRevert(
            abi.encodeWithSelector(IRepoEngine.RepoInvalidStatus.selector, repoId, IRepoEngine.RepoStatus.OPEN)
        );
        vm.prank(buyer);
        engine.closeOut(repoId);
    }

    function test_closeOut_revertsIfClosedTwice() public {
        uint256 repoId = _defaultedTermRepo();
        vm.startPrank(buyer);
        engine.closeOut(repoId);
        vm.expectRevert(
            abi.encodeWithSelector(IRepoEngine.RepoInvalidStatus.selector, repoId, IRepoEngine.RepoStatus.CLOSED_OUT)
        );
        engine.closeOut(repoId);
        vm.stopPrank();
    }

    function test_closeOut_revertsIfUnknown() public {
        vm.expectRevert(abi.encodeWithSelector(IRepoEngine.RepoUnknown.selector, 12));
        engine.closeOut(12);
    }

    function test_closeOut_revertsIfPriceStale() public {
        uint256 repoId = _defaultedTermRepo();
        uint64 postedAt = uint64(block.timestamp);
        vm.warp(block.timestamp + ORACLE_MAX_AGE + 1);
        vm.expectRevert(
            abi.encodeWithSelector(
                IPriceOracle.PriceStale.selector, address(bond), address(cash), postedAt, ORACLE_MAX_AGE
            )
        );
        vm.prank(buyer);
        engine.closeOut(repoId);
    }

    function test_closeOut_burnsPosition() public {
        uint256 repoId = _defaultedTermRepo();
        vm.prank(buyer);
        engine.closeOut(repoId);
        vm.expectRevert(abi.encodeWithSelector(IERC721Errors.ERC721NonexistentToken.selector, repoId));
        position.ownerOf(repoId);
    }

    function testFuzz_closeOut_splitsCollateralExactly(uint256 price, uint256 margin) public {
        price = bound(price, 1e18, 200e18);
        margin = bound(margin, 0, 2 * PP);
        uint256 repoId = _openTermRepo();
        if (margin > 0) {
            vm.prank(seller);
            engine.postMargin(repoId, 0, margin);
        }
        _skip(TERM + GRACE + 1);
        engine.declareDefault(repoId);
        _setBondPrice(price);
        uint256 owed = engine.repurchasePrice(repoId, uint64(block.timestamp));
        uint256 holderBond = bond.balanceOf(buyer);
        uint256 holderCash = cash.balanceOf(buyer);
        vm.prank(buyer);
        engine.closeOut(repoId);
        uint256 gotBond = bond.balanceOf(buyer) - holderBond;
        uint256 gotCash = cash.balanceOf(buyer) - holderCash;
        uint256 shortfall = engine.shortfallOf(repoId);
        assertEq(gotCash, margin < owed ? margin : owed);
        // Holder's recovery (cash + collateral at market) plus the recorded claim covers what was owed.
        assertGe(gotCash + gotBond * price / 1e18 + shortfall, owed);
        if (shortfall > 0) {
            assertEq(gotBond, COLLATERAL);
            assertEq(gotCash + gotBond * price / 1e18 + shortfall, owed, "claim is exactly the gap");
        } else if (gotBond > 0) {
            assertLt(gotCash + (gotBond - 1) * price / 1e18, owed, "no unit more than needed");
        }
        assertEq(bond.balanceOf(address(engine)), 0);
        assertEq(cash.balanceOf(address(engine)), 0);
    }
}
