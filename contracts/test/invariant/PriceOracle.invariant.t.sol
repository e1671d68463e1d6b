// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {PriceOracle} from "../../src/PriceOracle.sol";
import {Test} from "../utils/Test.sol";

/// @notice Drives random posts, confirmations (by the proposer or another person), limit changes and time jumps.
contract PriceOracleHandler is Test {
    PriceOracle internal immutable oracle;
    address internal immutable asset;
    address internal immutable quote;
    address[2] internal people;

    /// @notice Price changes that no second person confirmed yet moved further than the limit.
    uint256 public violations;
    uint256 public confirmed;

    constructor(PriceOracle oracle_, address asset_, address quote_, address a, address b) {
        oracle = oracle_;
        asset = asset_;
        quote = quote_;
        people = [a, b];
    }

    function post(uint256 who, uint256 price) external {
        (uint16 limit,) = oracle.maxMoveOf(asset, quote);
        (uint256 before,) = oracle.getPrice(asset, quote);
        vm.prank(people[who % 2]);
        oracle.setPrice(asset, quote, bound(price, 1e17, 1_000e18));
        (uint256 afterwards,) = oracle.getPrice(asset, quote);
        uint256 diff = afterwards > before ? afterwards - before : before - afterwards;
        if (limit > 0 && diff * 10_000 > uint256(limit) * before) violations++;
    }

    function confirm(uint256 who) external {
        uint256 price = oracle.pendingMoveOf(asset, quote).price;
        address proposer = oracle.pendingMoveOf(asset, quote).proposer;
        address by = people[who % 2];
        vm.prank(by);
        oracle.confirmPrice(asset, quote, price);
        if (by == proposer) violations++;
        confirmed++;
    }

    function setLimit(uint256 bps, uint256 window) external {
        vm.prank(people[0]);
        oracle.setMaxMove(asset, quote, uint16(bound(bps, 1, 3_000)), uint64(bound(window, 1, 1 days)));
    }

    function warp(uint256 dt) external {
        vm.warp(block.timestamp + bound(dt, 1, 6 hours));
        (uint256 p,) = oracle.getPrice(asset, quote);
        vm.prank(people[0]);
        oracle.setPrice(asset, quote, p); // keep it fresh (no move)
    }
}

/// @notice One person alone never moves a price further than its limit; confirmations always come from a second one.
contract PriceOracleInvariantTest is Test {
    PriceOracle internal oracle;
    PriceOracleHandler internal handler;

    function setUp() public {
        address admin = makeAddr("admin");
        address other = makeAddr("other");
        address asset = makeAddr("bond");
        address quote = makeAddr("cash");
        oracle = new PriceOracle(admin, 1 days);
        vm.startPrank(admin);
        oracle.grantRole(oracle.FEEDER_ROLE(), other);
        oracle.grantRole(oracle.CONFIRMER_ROLE(), other);
        oracle.setMaxMove(asset, quote, 500, 1 hours);
        oracle.setPrice(asset, quote, 100e18);
        vm.stopPrank();
        handler = new PriceOracleHandler(oracle, asset, quote, admin, other);
        targetContract(address(handler));
    }

    function invariant_noUnconfirmedLargeMove() public view {
        assertEq(handler.violations(), 0);
    }
}
