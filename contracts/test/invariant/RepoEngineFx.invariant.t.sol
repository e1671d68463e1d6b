// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {CashToken} from "../../src/CashToken.sol";
import {RepoEngineInvariantTest} from "./RepoEngine.invariant.t.sol";

/// @notice The same invariants and handler with the second bond priced in USD: every repo the handler opens or
/// substitutes into that bond is a cross-currency repo (valued through the USD/EUR pair with a 3 % FX haircut), so
/// escrow, claims, close-out and position invariants are checked across FX valuation too. The FX legs never go stale
/// here (their maximum age is ten years), as the handler refreshes only the direct prices it knows.
contract RepoEngineFxInvariantTest is RepoEngineInvariantTest {
    function setUp() public override {
        super.setUp();
        CashToken usd = new CashToken("Dollar Deposit Token", "USDD", "USD", 2, registry, admin);
        vm.startPrank(admin);
        oracle.setCurrency(address(usd), address(usd));
        oracle.setCurrency(address(bond2), address(usd));
        oracle.setFxHaircut(address(usd), address(cash), 300);
        oracle.setMaxAge(address(bond2), address(usd), 3650 days);
        oracle.setMaxAge(address(usd), address(cash), 3650 days);
        oracle.setPrice(address(bond2), address(usd), 110e18);
        oracle.setPrice(address(usd), address(cash), 0.92e18);
        vm.stopPrank();
    }
}
