// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {IAccessControl} from "@openzeppelin/contracts/access/IAccessControl.sol";
import {IPriceOracle} from "../src/interfaces/IPriceOracle.sol";
import {BaseFixture} from "./utils/BaseFixture.sol";

/// @notice Guard rails on prices: one feeder moves a pair's price by at most its limit per update; a larger move
/// waits for a second person's confirmation within the window. FX pairs (cash priced in cash) are pairs too.
contract PriceOracleMoveLimitTest is BaseFixture {
    uint16 internal constant LIMIT = 500; // 5 %
    uint64 internal constant WINDOW = 1 hours;

    address internal feeder = makeAddr("feeder");
    address internal checker = makeAddr("checker");
    address internal asset;
    address internal quote;

    function setUp() public override {
        super.setUp();
        asset = address(bond);
        quote = address(cash);
        vm.startPrank(admin);
        oracle.grantRole(oracle.FEEDER_ROLE(), feeder);
        oracle.grantRole(oracle.CONFIRMER_ROLE(), checker);
        oracle.setMaxMove(asset, quote, LIMIT, WINDOW);
        vm.stopPrank();
        _feed(100e18); // the first price of a pair is never a move
    }

    function _feed(uint256 price) internal {
        vm.prank(feeder);
        oracle.setPrice(asset, quote, price);
    }

    function _price() internal view returns (uint256 p) {
        (p,) = oracle.getPrice(asset, quote);
    }

    function test_moveWithinLimit_appliesAtOnce() public {
        _feed(105e18); // exactly the limit
        assertEq(_price(), 105e18);
        _feed(99.75e18); // -5 %
        assertEq(_price(), 99.75e18);
    }

    function test_largerMove_isHeldUntilSecondPersonConfirms() public {
        vm.expectEmit(address(oracle));
        emit IPriceOracle.PriceMoveProposed(asset, quote, 80e18, feeder);
        _feed(80e18);
        assertEq(_price(), 100e18, "not applied by one feeder");
        assertEq(oracle.pendingMoveOf(asset, quote).price, 80e18);

        vm.expectEmit(address(oracle));
        emit IPriceOracle.PriceMoveConfirmed(asset, quote, 80e18, checker);
        vm.prank(checker);
        oracle.confirmPrice(asset, quote, 80e18);
        assertEq(_price(), 80e18);
        assertEq(oracle.pendingMoveOf(asset, quote).price, 0);
    }

    function test_confirm_revertsForTheProposer() public {
        vm.prank(admin);
        oracle.setPrice(asset, quote, 150e18);
        vm.expectRevert(abi.encodeWithSelector(IPriceOracle.PriceSameFeeder.selector, admin));
        vm.prank(admin); // admin holds both roles, but cannot confirm its own move
        oracle.confirmPrice(asset, quote, 150e18);
    }

    function test_confirm_revertsAfterWindow() public {
        _feed(80e18);
        vm.warp(block.timestamp + WINDOW + 1);
        vm.expectRevert(
            abi.encodeWithSelector(
                IPriceOracle.PriceConfirmationExpired.selector, asset, quote, uint64(block.timestamp - WINDOW - 1), WINDOW
            )
        );
        vm.prank(checker);
        oracle.confirmPrice(asset, quote, 80e18);
    }

    function test_confirm_revertsForOtherPriceOrNoneOrWithoutRole() public {
        _feed(80e18);
        vm.expectRevert(abi.encodeWithSelector(IPriceOracle.PriceNoPendingMove.selector, asset, quote, 81e18));
        vm.prank(checker);
        oracle.confirmPrice(asset, quote, 81e18);
        vm.expectRevert(
            abi.encodeWithSelector(
                IAccessControl.AccessControlUnauthorizedAccount.selector, feeder, oracle.CONFIRMER_ROLE()
            )
        );
        vm.prank(feeder);
        oracle.confirmPrice(asset, quote, 80e18);
        vm.expectRevert(abi.encodeWithSelector(IPriceOracle.PriceNoPendingMove.selector, quote, asset, 1e18));
        vm.prank(checker);
        oracle.confirmPrice(quote, asset, 1e18);
    }

    function test_fxPair_sameRule() public {
        address eur = address(cash);
        address usd = makeAddr("usdToken");
        vm.prank(admin);
        oracle.setMaxMove(eur, usd, 200, WINDOW);
        _feedPair(eur, usd, 1.08e18);
        _feedPair(eur, usd, 1.2e18); // +11 %: held
        (uint256 p,) = oracle.getPrice(eur, usd);
        assertEq(p, 1.08e18);
    }

    function _feedPair(address a, address q, uint256 price) internal {
        vm.prank(feeder);
        oracle.setPrice(a, q, price);
    }

    function test_setMaxMove_validation() public {
        vm.startPrank(admin);
        vm.expectRevert(IPriceOracle.PriceInvalidMoveLimit.selector);
        oracle.setMaxMove(asset, quote, 100, 0);
        oracle.setMaxMove(asset, quote, 0, 0); // no limit
        vm.stopPrank();
        _feed(300e18);
        assertEq(_price(), 300e18);
        vm.expectRevert(
            abi.encodeWithSelector(IAccessControl.AccessControlUnauthorizedAccount.selector, feeder, bytes32(0))
        );
        vm.prank(feeder);
        oracle.setMaxMove(asset, quote, 100, 1);
    }

    /// @dev One feeder alone never moves the price further than the limit, whatever it posts.
    function testFuzz_oneFeederStaysWithinLimit(uint256[8] memory prices) public {
        for (uint256 i; i < prices.length; ++i) {
            uint256 before = _price();
            _feed(bound(prices[i], 1, 1_000e18));
            uint256 afterwards = _price();
            uint256 diff = afterwards > before ? afterwards - before : before - afterwards;
            assertLe(diff * 10_000, uint256(LIMIT) * before, "one feeder moved the price too far");
        }
    }
}
