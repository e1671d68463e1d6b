// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {IAccessControl} from "@openzeppelin/contracts/access/IAccessControl.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {IERC20Errors} from "@openzeppelin/contracts/interfaces/draft-IERC6093.sol";
import {PermissionedToken} from "../src/PermissionedToken.sol";
import {IPermissionedToken} from "../src/interfaces/IPermissionedToken.sol";
import {TokenFixture} from "./utils/TokenFixture.sol";

/// @notice forcedTransfer: court-ordered moves without the holder's consent. The recipient must be verified and
/// unfrozen; the order cannot undo a freeze (no landing with the frozen holder's own identity) and never
/// unfreezes anything.
abstract contract PermissionedTokenForcedTransferTest is TokenFixture {
    bytes32 internal constant ORDER = keccak256("High Court claim CL-2026-000123");

    function _force(address from, address to, uint256 amount) internal {
        vm.prank(court);
        token.forcedTransfer(from, to, amount, ORDER);
    }

    function test_forcedTransfer_movesWithoutConsentAndEmits() public {
        vm.expectEmit(address(token));
        emit IERC20.Transfer(alice, bob, 400);
        vm.expectEmit(address(token));
        emit IPermissionedToken.ForcedTransfer(alice, bob, 400, ORDER);
        _force(alice, bob, 400);
        assertEq(token.balanceOf(alice), INITIAL_BALANCE - 400);
        assertEq(token.balanceOf(bob), INITIAL_BALANCE + 400);
    }

    function test_forcedTransfer_leavesAllowancesAndSupplyAlone() public {
        vm.prank(alice);
        token.approve(bob, 77);
        uint256 supply = token.totalSupply();
        _force(alice, bob, 400);
        assertEq(token.allowance(alice, bob), 77);
        assertEq(token.allowance(alice, court), 0);
        assertEq(token.totalSupply(), supply);
    }

    function test_forcedTransfer_fromTokenFrozenHolderToOtherIdentity() public {
        _freeze(alice);
        _force(alice, bob, 400);
        assertEq(token.balanceOf(bob), INITIAL_BALANCE + 400);
        assertTrue(token.isFrozen(alice), "never unfreezes the source");
    }

    function test_forcedTransfer_fromIdentityFrozenHolderToOtherIdentity() public {
        vm.prank(admin);
        registry.freezeIdentity(aliceId);
        _force(alice, bob, 400);
        assertEq(token.balanceOf(bob), INITIAL_BALANCE + 400);
        assertTrue(registry.getIdentity(aliceId).frozen, "never unfreezes the identity");
    }

    function test_forcedTransfer_fromKycExpiredHolder() public {
        _expireKyc(aliceId);
        _force(alice, bob, 400);
        assertEq(token.balanceOf(bob), INITIAL_BALANCE + 400);
    }

    function test_forcedTransfer_fromRevokedHolder() public {
        vm.prank(admin);
        registry.revokeIdentity(aliceId);
        _force(alice, bob, 400);
        assertEq(token.balanceOf(alice), INITIAL_BALANCE - 400);
    }

    function test_forcedTransfer_fromUnregisteredWallet() public {
        _transfer(alice, escrow, 50);
        vm.prank(admin);
        registry.setSystemAccount(escrow, false);
        _force(escrow, bob, 50);
        assertEq(token.balanceOf(escrow), 0);
    }

    function test_forcedTransfer_revertsFromSystemAccount() public {
        _transfer(alice, escrow, 50);
        vm.prank(court);
        vm.expectRevert(
            abi.encodeWithSelector(IPermissionedToken.TokenForcedTransferFromSystemAccount.selector, escrow)
        );
        token.forcedTransfer(escrow, bob, 50, ORDER);
        assertEq(token.balanceOf(escrow), 50);
    }

    function test_forcedTransfer_fromFrozenUnregisteredWalletToOtherIdentity() public {
        _transfer(alice, escrow, 50);
        vm.prank(admin);
        registry.setSystemAccount(escrow, false);
        _freeze(escrow);
        _force(escrow, bob, 50);
        assertEq(token.balanceOf(bob), INITIAL_BALANCE + 50);
    }

    function test_forcedTransfer_toSystemAccount() public {
        _freeze(alice);
        _force(alice, escrow, 10);
        assertEq(token.balanceOf(escrow), 10);
    }

    function test_forcedTransfer_betweenWalletsOfUnfrozenIdentity() public {
        _force(alice, aliceAlt, 10);
        assertEq(token.balanceOf(aliceAlt), 10);
    }

    function test_forcedTransfer_revertsIfFrozenHolderToSameIdentity() public {
        _freeze(alice);
        vm.expectRevert(
            abi.encodeWithSelector(
                IPermissionedToken.TokenForcedTransferToSameIdentity.selector, alice, aliceAlt, aliceId
            )
        );
        _force(alice, aliceAlt, 10);
    }

    function test_forcedTransfer_revertsIfFrozenHolderToItself() public {
        _freeze(alice);
        vm.expectRevert(abi.encodeWithSelector(IPermissionedToken.TokenAccountFrozen.selector, alice));
        _force(alice, alice, 10);
    }

    function test_forcedTransfer_revertsIfIdentityFrozenHolderToSameIdentity() public {
        vm.prank(admin);
        registry.freezeIdentity(aliceId);
        vm.expectRevert(abi.encodeWithSelector(IPermissionedToken.TokenAccountNotVerified.selector, aliceAlt));
        _force(alice, aliceAlt, 10);
    }

    function test_forcedTransfer_revertsIfRecipientUnverified() public {
        vm.expectRevert(abi.encodeWithSelector(IPermissionedToken.TokenAccountNotVerified.selector, carol));
        _force(alice, carol, 10);
    }

    function test_forcedTransfer_revertsIfRecipientKycExpired() public {
        _expireKyc(bobId);
        vm.expectRevert(abi.encodeWithSelector(IPermissionedToken.TokenAccountNotVerified.selector, bob));
        _force(alice, bob, 10);
    }

    function test_forcedTransfer_revertsIfRecipientFrozen() public {
        _freeze(bob);
        vm.expectRevert(abi.encodeWithSelector(IPermissionedToken.TokenAccountFrozen.selector, bob));
        _force(alice, bob, 10);
    }

    function test_forcedTransfer_revertsIfNotCourt() public {
        bytes32 role = token.COURT_ORDER_ROLE();
        vm.expectRevert(abi.encodeWithSelector(IAccessControl.AccessControlUnauthorizedAccount.selector, officer, role));
        vm.prank(officer);
        token.forcedTransfer(alice, bob, 10, ORDER);
    }

    function test_forcedTransfer_revertsIfIssuerWithoutCourtRole() public {
        bytes32 role = token.COURT_ORDER_ROLE();
        vm.expectRevert(abi.encodeWithSelector(IAccessControl.AccessControlUnauthorizedAccount.selector, issuer, role));
        vm.prank(issuer);
        token.forcedTransfer(alice, issuer, 10, ORDER);
    }

    function test_forcedTransfer_revertsIfOrderRefMissing() public {
        vm.expectRevert(IPermissionedToken.TokenMissingOrderRef.selector);
        vm.prank(court);
        token.forcedTransfer(alice, bob, 10, bytes32(0));
    }

    function test_forcedTransfer_revertsIfFromZero() public {
        vm.expectRevert(IPermissionedToken.TokenZeroAddress.selector);
        _force(address(0), bob, 10);
    }

    function test_forcedTransfer_revertsIfToZero() public {
        vm.expectRevert(IPermissionedToken.TokenZeroAddress.selector);
        _force(alice, address(0), 10);
    }

    function test_forcedTransfer_revertsIfInsufficientBalance() public {
        vm.expectRevert(
            abi.encodeWithSelector(
                IERC20Errors.ERC20InsufficientBalance.selector, alice, INITIAL_BALANCE, INITIAL_BALANCE + 1
            )
        );
        _force(alice, bob, INITIAL_BALANCE + 1);
    }

    function testFuzz_forcedTransfer_conservesSupply(uint256 amount, bool frozen) public {
        amount = bound(amount, 0, INITIAL_BALANCE);
        if (frozen) _freeze(alice);
        uint256 supply = token.totalSupply();
        _force(alice, bob, amount);
        assertEq(token.totalSupply(), supply);
        assertEq(token.balanceOf(alice) + token.balanceOf(bob), 2 * INITIAL_BALANCE);
        assertEq(token.isFrozen(alice), frozen);
    }
}

contract CashTokenForcedTransferTest is PermissionedTokenForcedTransferTest {
    function _token() internal view override returns (PermissionedToken) {
        return cash;
    }
}

contract BondTokenForcedTransferTest is PermissionedTokenForcedTransferTest {
    function _token() internal view override returns (PermissionedToken) {
        return bond;
    }
}
