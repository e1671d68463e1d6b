// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {RepoFixture} from "./RepoFixture.sol";

/// @title CouponFixture
/// @notice RepoFixture plus a coupon schedule on the default bond (2.5% semi-annual, paid in the fixture's cash
/// token) and `carol` as its paying agent (funded, approving the engine).
/// @dev One coupon on the default collateral (1,050,000 units): 1,050,000 × 2.5% / 2 = EUR 13,125.00.
abstract contract CouponFixture is RepoFixture {
    uint64 internal constant RECORD0 = T0 + 10 days;
    uint64 internal constant PAY0 = T0 + 11 days;
    uint64 internal constant RECORD1 = T0 + 40 days;
    uint64 internal constant PAY1 = T0 + 41 days;
    uint256 internal constant COUPON = 13_125_00;

    address internal agent;

    function setUp() public virtual override {
        super.setUp();
        agent = carol;
        uint64[] memory record = new uint64[](3);
        uint64[] memory pay = new uint64[](3);
        (record[0], pay[0]) = (RECORD0, PAY0);
        (record[1], pay[1]) = (RECORD1, PAY1);
        (record[2], pay[2]) = (T0 + 190 days, T0 + 191 days);
        vm.prank(admin);
        bond.setCouponSchedule(address(cash), 2, record, pay);
    }

    /// @dev Warps to `t` and re-posts prices.
    function _at(uint64 t) internal {
        vm.warp(t);
        _refreshPrices();
    }

    /// @dev The paying agent pays coupon `index` of `repoId`.
    function _payCoupon(uint256 repoId, uint256 index) internal {
        vm.prank(agent);
        engine.payCoupon(repoId, index);
    }
}
