// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {PermissionedToken} from "../../src/PermissionedToken.sol";
import {BaseFixture} from "../utils/BaseFixture.sol";
import {PermissionedTokenHandler} from "./PermissionedTokenHandler.sol";

/// @notice Under random sequences of transfers, mints, burns, forced transfers, freezes, KYC lapses, renewals,
/// revocations and pauses: the token obeys an independent model of its rules exactly (allowed steps succeed,
/// forbidden ones revert), a frozen balance only falls by court order, nothing burns without consent, and the
/// supply equals the sum of balances.
abstract contract PermissionedTokenInvariantTest is BaseFixture {
    PermissionedTokenHandler internal handler;
    PermissionedToken internal token;

    function _token() internal view virtual returns (PermissionedToken);

    function setUp() public override {
        super.setUp();
        token = _token();
        address[] memory actors = new address[](7);
        actors[0] = makeAddr("alice");
        actors[1] = makeAddr("aliceAlt"); // same identity as alice
        actors[2] = makeAddr("bob");
        actors[3] = makeAddr("carol");
        actors[4] = makeAddr("dave");
        actors[5] = makeAddr("outsider"); // never verified
        actors[6] = makeAddr("escrow"); // system account

        address[] memory aliceWallets = new address[](2);
        aliceWallets[0] = actors[0];
        aliceWallets[1] = actors[1];
        _verify(aliceWallets);
        for (uint256 i = 2; i < 5; ++i) {
            _verify(actors[i]);
        }
        _addSystemAccount(actors[6]);
        for (uint256 i = 0; i < 5; ++i) {
            vm.prank(admin);
            token.mint(actors[i], 1_000_000);
        }

        handler = new PermissionedTokenHandler(token, registry, admin, actors);
        targetContract(address(handler));
    }

    function invariant_behavesAsModelled() public view {
        assertEq(handler.ghostForbiddenSucceeded(), 0, "a forbidden step succeeded");
        assertEq(handler.ghostAllowedReverted(), 0, "an allowed step reverted");
    }

    function invariant_frozenBalanceFallsOnlyByCourtOrder() public view {
        assertEq(handler.ghostFrozenBalanceFell(), 0);
    }

    function invariant_supplyEqualsSumOfBalances() public view {
        address[] memory actors = handler.actors();
        uint256 sum;
        for (uint256 i = 0; i < actors.length; ++i) {
            sum += token.balanceOf(actors[i]);
        }
        assertEq(token.totalSupply(), sum);
    }

    function invariant_outsiderNeverHolds() public view {
        assertEq(token.balanceOf(handler.actors()[5]), 0);
    }
}

contract CashTokenInvariantTest is PermissionedTokenInvariantTest {
    function _token() internal view override returns (PermissionedToken) {
        return cash;
    }
}

contract BondTokenInvariantTest is PermissionedTokenInvariantTest {
    function _token() internal view override returns (PermissionedToken) {
        return bond;
    }
}
