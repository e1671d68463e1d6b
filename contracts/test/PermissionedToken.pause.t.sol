// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {IAccessControl} from "@openzeppelin/contracts/access/IAccessControl.sol";
import {Pausable} from "@openzeppelin/contracts/utils/Pausable.sol";
import {PermissionedToken} from "../src/PermissionedToken.sol";
import {TokenFixture} from "./utils/TokenFixture.sol";

/// @notice pause and unpause: a paused token moves nothing (transfer, transferFrom, mint, burn, burnFrom,
/// forcedTransfer), while approvals still work.
abstract contract PermissionedTokenPauseTest is TokenFixture {
    function test_pause_setsFlagAndEmits() public {
        vm.expectEmit(address(token));
        emit Pausable.Paused(pauser);
        _pause();
        assertTrue(token.paused());
    }

    function test_pause_revertsIfNotPauser() public {
        bytes32 role = token.PAUSER_ROLE();
        vm.expectRevert(abi.encodeWithSelector(IAccessControl.AccessControlUnauthorizedAccount.selector, officer, role));
        vm.prank(officer);
        token.pause();
    }

    function test_pause_revertsIfPaused() public {
        _pause();
        vm.expectRevert(Pausable.EnforcedPause.selector);
        vm.prank(pauser);
        token.pause();
    }

    function test_unpause_resumesTransfers() public {
        _pause();
        vm.expectEmit(address(token));
        emit Pausable.Unpaused(pauser);
        vm.prank(pauser);
        token.unpause();
        assertFalse(token.paused());
        _transfer(alice, bob, 1);
    }

    function test_unpause_revertsIfNotPauser() public {
        _pause();
        bytes32 role = token.PAUSER_ROLE();
        vm.expectRevert(abi.encodeWithSelector(IAccessControl.AccessControlUnauthorizedAccount.selector, alice, role));
        vm.prank(alice);
        token.unpause();
    }

    function test_unpause_revertsIfNotPaused() public {
        vm.expectRevert(Pausable.ExpectedPause.selector);
        vm.prank(pauser);
        token.unpause();
    }

    function test_transfer_revertsWhenPaused() public {
        _pause();
        vm.expectRevert(Pausable.EnforcedPause.selector);
        _transfer(alice, bob, 1);
    }

    function test_transferFrom_revertsWhenPaused() public {
        vm.prank(alice);
        token.approve(escrow, 1);
        _pause();
        vm.expectRevert(Pausable.EnforcedPause.selector);
        _transferFrom(escrow, alice, escrow, 1);
    }

    function test_mint_revertsWhenPaused() public {
        _pause();
        vm.expectRevert(Pausable.EnforcedPause.selector);
        vm.prank(issuer);
        token.mint(alice, 1);
    }

    function test_burn_revertsWhenPaused() public {
        _transfer(alice, issuer, 1);
        _pause();
        vm.expectRevert(Pausable.EnforcedPause.selector);
        vm.prank(issuer);
        token.burn(1);
    }

    function test_burnFrom_revertsWhenPaused() public {
        vm.prank(alice);
        token.approve(issuer, 1);
        _pause();
        vm.expectRevert(Pausable.EnforcedPause.selector);
        vm.prank(issuer);
        token.burnFrom(alice, 1);
    }

    function test_forcedTransfer_revertsWhenPaused() public {
        _pause();
        vm.expectRevert(Pausable.EnforcedPause.selector);
        vm.prank(court);
        token.forcedTransfer(alice, bob, 1, keccak256("order"));
    }

    function test_approve_worksWhenPaused() public {
        _pause();
        vm.prank(alice);
        token.approve(bob, 5);
        assertEq(token.allowance(alice, bob), 5);
    }
}

contract CashTokenPauseTest is PermissionedTokenPauseTest {
    function _token() internal view override returns (PermissionedToken) {
        return cash;
    }
}

contract BondTokenPauseTest is PermissionedTokenPauseTest {
    function _token() internal view override returns (PermissionedToken) {
        return bond;
    }
}
