// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {IAccessControl} from "@openzeppelin/contracts/access/IAccessControl.sol";
import {PriceOracle} from "../src/PriceOracle.sol";
import {IPriceOracle} from "../src/interfaces/IPriceOracle.sol";
import {BaseFixture} from "./utils/BaseFixture.sol";

/// @notice PriceOracle: feeding, maximum ages (per pair and default), stale and missing prices, valuation.
contract PriceOracleTest is BaseFixture {
    address internal feeder = makeAddr("feeder");
    address internal stranger = makeAddr("stranger");
    address internal asset;
    address internal quote;

    function setUp() public override {
        super.setUp();
        asset = address(bond);
        quote = address(cash);
        bytes32 role = oracle.FEEDER_ROLE();
        vm.prank(admin);
        oracle.grantRole(role, feeder);
    }

    function _feed(uint256 price) internal {
        vm.prank(feeder);
        oracle.setPrice(asset, quote, price);
    }

    // ------------------------------------------------------------ constructor and constants

    function test_constructor_setsDefaultsAndRoles() public view {
        assertEq(uint256(oracle.PRICE_DECIMALS()), 18);
        assertEq(uint256(oracle.defaultMaxAge()), uint256(ORACLE_MAX_AGE));
        assertTrue(oracle.hasRole(oracle.DEFAULT_ADMIN_ROLE(), admin));
        assertTrue(oracle.hasRole(oracle.FEEDER_ROLE(), admin));
    }

    function test_constructor_revertsIfAdminZero() public {
        vm.expectRevert(IPriceOracle.PriceZeroAddress.selector);
        new PriceOracle(address(0), 1 days);
    }

    function test_constructor_revertsIfDefaultMaxAgeZero() public {
        vm.expectRevert(IPriceOracle.PriceInvalidMaxAge.selector);
        new PriceOracle(admin, 0);
    }

    // ------------------------------------------------------------ setPrice

    function test_setPrice_storesWithTimestampAndEmits() public {
        vm.expectEmit(address(oracle));
        emit IPriceOracle.PriceUpdated(asset, quote, BOND_PRICE, T0);
        _feed(BOND_PRICE);
        (uint256 price, uint64 updatedAt) = oracle.getPrice(asset, quote);
        assertEq(price, BOND_PRICE);
        assertEq(uint256(updatedAt), uint256(T0));
    }

    function test_setPrice_overwritesAndRefreshes() public {
        _feed(BOND_PRICE);
        vm.warp(T0 + 100);
        _feed(99e18);
        (uint256 price, uint64 updatedAt) = oracle.getPrice(asset, quote);
        assertEq(price, 99e18);
        assertEq(uint256(updatedAt), uint256(T0 + 100));
    }

    function test_setPrice_pairsAreDirectional() public {
        _feed(BOND_PRICE);
        vm.expectRevert(abi.encodeWithSelector(IPriceOracle.PriceMissing.selector, quote, asset));
        oracle.getPrice(quote, asset);
    }

    function test_setPrice_revertsIfNotFeeder() public {
        bytes32 role = oracle.FEEDER_ROLE();
        vm.expectRevert(
            abi.encodeWithSelector(IAccessControl.AccessControlUnauthorizedAccount.selector, stranger, role)
        );
        vm.prank(stranger);
        oracle.setPrice(asset, quote, BOND_PRICE);
    }

    function test_setPrice_revertsIfZero() public {
        vm.expectRevert(abi.encodeWithSelector(IPriceOracle.PriceZero.selector, asset, quote));
        _feed(0);
    }

    function test_setPrice_revertsIfAssetOrQuoteZero() public {
        vm.expectRevert(IPriceOracle.PriceZeroAddress.selector);
        vm.prank(feeder);
        oracle.setPrice(address(0), quote, 1);
        vm.expectRevert(IPriceOracle.PriceZeroAddress.selector);
        vm.prank(feeder);
        oracle.setPrice(asset, address(0), 1);
    }

    // ------------------------------------------------------------ getPrice: missing and stale

    function test_getPrice_revertsIfMissing() public {
        vm.expectRevert(abi.encodeWithSelector(IPriceOracle.PriceMissing.selector, asset, quote));
        oracle.getPrice(asset, quote);
    }

    function test_getPrice_freshUpToDefaultMaxAge() public {
        _feed(BOND_PRICE);
        vm.warp(T0 + ORACLE_MAX_AGE);
        (uint256 price,) = oracle.getPrice(asset, quote);
        assertEq(price, BOND_PRICE);
    }

    function test_getPrice_revertsIfStalePastDefaultMaxAge() public {
        _feed(BOND_PRICE);
        vm.warp(T0 + ORACLE_MAX_AGE + 1);
        vm.expectRevert(abi.encodeWithSelector(IPriceOracle.PriceStale.selector, asset, quote, T0, ORACLE_MAX_AGE));
        oracle.getPrice(asset, quote);
    }

    function test_getPrice_usesPairMaxAge() public {
        vm.prank(admin);
        oracle.setMaxAge(asset, quote, 15 minutes);
        _feed(BOND_PRICE);
        vm.warp(T0 + 15 minutes);
        oracle.getPrice(asset, quote);
        vm.warp(T0 + 15 minutes + 1);
        vm.expectRevert(abi.encodeWithSelector(IPriceOracle.PriceStale.selector, asset, quote, T0, 15 minutes));
        oracle.getPrice(asset, quote);
    }

    function test_getPrice_longerPairMaxAgeOutlivesDefault() public {
        vm.prank(admin);
        oracle.setMaxAge(asset, quote, 7 days);
        _feed(BOND_PRICE);
        vm.warp(T0 + 7 days);
        oracle.getPrice(asset, quote);
    }

    function testFuzz_getPrice_staleExactlyAfterMaxAge(uint64 maxAge, uint64 elapsed) public {
        maxAge = uint64(bound(maxAge, 1, 365 days));
        elapsed = uint64(bound(elapsed, 0, 2 * 365 days));
        vm.prank(admin);
        oracle.setMaxAge(asset, quote, maxAge);
        _feed(BOND_PRICE);
        vm.warp(T0 + uint256(elapsed));
        if (elapsed > maxAge) {
            vm.expectRevert(abi.encodeWithSelector(IPriceOracle.PriceStale.selector, asset, quote, T0, maxAge));
        }
        oracle.getPrice(asset, quote);
    }

    // ------------------------------------------------------------ setMaxAge, maxAgeOf

    function test_setMaxAge_setsAndEmits() public {
        vm.expectEmit(address(oracle));
        emit IPriceOracle.MaxAgeSet(asset, quote, 1 hours);
        vm.prank(admin);
        oracle.setMaxAge(asset, quote, 1 hours);
        assertEq(uint256(oracle.maxAgeOf(asset, quote)), 1 hours);
        assertEq(uint256(oracle.maxAgeOf(quote, asset)), uint256(ORACLE_MAX_AGE));
    }

    function test_setMaxAge_zeroRestoresDefault() public {
        vm.startPrank(admin);
        oracle.setMaxAge(asset, quote, 1 hours);
        oracle.setMaxAge(asset, quote, 0);
        vm.stopPrank();
        assertEq(uint256(oracle.maxAgeOf(asset, quote)), uint256(ORACLE_MAX_AGE));
    }

    /// @dev The maximum age shares the price's slot: a post keeps it, and setting it keeps the price.
    function test_setMaxAge_andPriceShareASlotWithoutClobbering() public {
        vm.prank(admin);
        oracle.setMaxAge(asset, quote, 1 hours);
        vm.prank(feeder);
        oracle.setPrice(asset, quote, 101e18);
        assertEq(uint256(oracle.maxAgeOf(asset, quote)), 1 hours);
        vm.prank(admin);
        oracle.setMaxAge(asset, quote, 2 hours);
        (uint256 price, uint64 updatedAt) = oracle.getPrice(asset, quote);
        assertEq(price, 101e18);
        assertEq(uint256(updatedAt), block.timestamp);
        vm.warp(block.timestamp + 2 hours + 1);
        vm.expectRevert(
            abi.encodeWithSelector(IPriceOracle.PriceStale.selector, asset, quote, updatedAt, uint64(2 hours))
        );
        oracle.getPrice(asset, quote);
    }

    function test_setMaxAge_revertsAbove56Bits() public {
        vm.prank(admin);
        vm.expectRevert(IPriceOracle.PriceInvalidMaxAge.selector);
        oracle.setMaxAge(asset, quote, uint64(type(uint56).max) + 1);
    }

    function test_setMaxAge_revertsIfNotAdmin() public {
        bytes32 role = oracle.DEFAULT_ADMIN_ROLE();
        vm.expectRevert(abi.encodeWithSelector(IAccessControl.AccessControlUnauthorizedAccount.selector, feeder, role));
        vm.prank(feeder);
        oracle.setMaxAge(asset, quote, 1 hours);
    }

    function test_setMaxAge_revertsIfAssetOrQuoteZero() public {
        vm.expectRevert(IPriceOracle.PriceZeroAddress.selector);
        vm.prank(admin);
        oracle.setMaxAge(address(0), quote, 1 hours);
        vm.expectRevert(IPriceOracle.PriceZeroAddress.selector);
        vm.prank(admin);
        oracle.setMaxAge(asset, address(0), 1 hours);
    }

    // ------------------------------------------------------------ valueOf

    function test_valueOf_scalesSmallestUnits() public {
        _feed(BOND_PRICE); // 98.5 cents per 1 EUR nominal
        assertEq(oracle.valueOf(asset, quote, 1_000_000), 98_500_000); // 1m EUR nominal = 985,000.00 EUR
        assertEq(oracle.valueOf(asset, quote, 0), 0);
    }

    function test_valueOf_roundsDown() public {
        _feed(BOND_PRICE);
        assertEq(oracle.valueOf(asset, quote, 1), 98); // 98.5 -> 98
        _feed(1); // 1e-18 quote units per asset unit
        assertEq(oracle.valueOf(asset, quote, 1e18 - 1), 0);
        assertEq(oracle.valueOf(asset, quote, 1e18), 1);
    }

    function test_valueOf_noOverflowForLargeProducts() public {
        _feed(type(uint128).max);
        uint256 amount = type(uint128).max;
        assertEq(oracle.valueOf(asset, quote, amount), (uint256(type(uint128).max) * type(uint128).max) / 1e18);
        _feed(2e18);
        assertEq(oracle.valueOf(asset, quote, type(uint256).max / 2), type(uint256).max / 2 * 2);
    }

    function test_valueOf_revertsIfMissing() public {
        vm.expectRevert(abi.encodeWithSelector(IPriceOracle.PriceMissing.selector, asset, quote));
        oracle.valueOf(asset, quote, 1);
    }

    function test_valueOf_revertsIfStale() public {
        _feed(BOND_PRICE);
        vm.warp(T0 + ORACLE_MAX_AGE + 1);
        vm.expectRevert(abi.encodeWithSelector(IPriceOracle.PriceStale.selector, asset, quote, T0, ORACLE_MAX_AGE));
        oracle.valueOf(asset, quote, 1);
    }

    function testFuzz_valueOf_isFloorOfProduct(uint128 amount, uint128 price) public {
        vm.assume(price > 0);
        _feed(price);
        uint256 value = oracle.valueOf(asset, quote, amount);
        assertEq(value, (uint256(amount) * price) / 1e18);
        assertLe(value * 1e18, uint256(amount) * price);
        assertGt((value + 1) * 1e18, uint256(amount) * price);
    }
}
