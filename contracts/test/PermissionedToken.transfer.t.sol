// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {IERC20Errors} from "@openzeppelin/contracts/interfaces/draft-IERC6093.sol";
import {PermissionedToken} from "../src/PermissionedToken.sol";
import {IPermissionedToken} from "../src/interfaces/IPermissionedToken.sol";
import {TokenFixture} from "./utils/TokenFixture.sol";

/// @notice transfer and transferFrom check both sides: verified (KYC unexpired, identity unrevoked and unfrozen,
/// or system account) and not frozen on the token.
abstract contract PermissionedTokenTransferTest is TokenFixture {
    function test_transfer_betweenVerifiedHolders() public {
        vm.expectEmit(address(token));
        emit IERC20.Transfer(alice, bob, 100);
        vm.prank(alice);
        assertTrue(token.transfer(bob, 100));
        assertEq(token.balanceOf(alice), INITIAL_BALANCE - 100);
        assertEq(token.balanceOf(bob), INITIAL_BALANCE + 100);
    }

    function test_transfer_betweenWalletsOfOneIdentity() public {
        _transfer(alice, aliceAlt, 5);
        assertEq(token.balanceOf(aliceAlt), 5);
    }

    function test_transfer_toSystemAccountAndBack() public {
        _transfer(alice, escrow, 10);
        _transfer(escrow, bob, 10);
        assertEq(token.balanceOf(bob), INITIAL_BALANCE + 10);
    }

    function test_transfer_revertsIfRecipientUnknown() public {
        vm.expectRevert(abi.encodeWithSelector(IPermissionedToken.TokenAccountNotVerified.selector, carol));
        _transfer(alice, carol, 1);
    }

    function test_transfer_revertsIfRecipientUnknownEvenForZeroAmount() public {
        vm.expectRevert(abi.encodeWithSelector(IPermissionedToken.TokenAccountNotVerified.selector, carol));
        _transfer(alice, carol, 0);
    }

    function test_transfer_revertsIfRecipientZero() public {
        vm.expectRevert(abi.encodeWithSelector(IERC20Errors.ERC20InvalidReceiver.selector, address(0)));
        _transfer(alice, address(0), 1);
    }

    function test_transfer_revertsIfSenderKycExpired() public {
        _expireKyc(aliceId);
        vm.expectRevert(abi.encodeWithSelector(IPermissionedToken.TokenAccountNotVerified.selector, alice));
        _transfer(alice, bob, 1);
    }

    function test_transfer_revertsIfRecipientKycExpired() public {
        _expireKyc(bobId);
        vm.expectRevert(abi.encodeWithSelector(IPermissionedToken.TokenAccountNotVerified.selector, bob));
        _transfer(alice, bob, 1);
    }

    function test_transfer_revertsForEveryoneAtCommonKycExpiry() public {
        vm.warp(registry.getIdentity(aliceId).kycExpiry - 1);
        _transfer(alice, bob, 1);
        vm.warp(registry.getIdentity(aliceId).kycExpiry);
        vm.expectRevert(abi.encodeWithSelector(IPermissionedToken.TokenAccountNotVerified.selector, alice));
        _transfer(alice, bob, 1);
    }

    function test_transfer_revertsIfSenderRevoked() public {
        vm.prank(admin);
        registry.revokeIdentity(aliceId);
        vm.expectRevert(abi.encodeWithSelector(IPermissionedToken.TokenAccountNotVerified.selector, alice));
        _transfer(alice, bob, 1);
    }

    function test_transfer_revertsIfRecipientRevoked() public {
        vm.prank(admin);
        registry.revokeIdentity(bobId);
        vm.expectRevert(abi.encodeWithSelector(IPermissionedToken.TokenAccountNotVerified.selector, bob));
        _transfer(alice, bob, 1);
    }

    function test_transfer_revertsIfSenderIdentityFrozen() public {
        vm.prank(admin);
        registry.freezeIdentity(aliceId);
        vm.expectRevert(abi.encodeWithSelector(IPermissionedToken.TokenAccountNotVerified.selector, alice));
        _transfer(alice, bob, 1);
    }

    function test_transfer_revertsIfRecipientIdentityFrozen() public {
        vm.prank(admin);
        registry.freezeIdentity(bobId);
        vm.expectRevert(abi.encodeWithSelector(IPermissionedToken.TokenAccountNotVerified.selector, bob));
        _transfer(alice, bob, 1);
    }

    function test_transfer_revertsIfSenderWalletRemoved() public {
        _transfer(alice, aliceAlt, 1);
        vm.prank(admin);
        registry.removeWallet(aliceAlt);
        vm.expectRevert(abi.encodeWithSelector(IPermissionedToken.TokenAccountNotVerified.selector, aliceAlt));
        _transfer(aliceAlt, bob, 1);
    }

    function test_transfer_revertsIfSenderFrozenOnToken() public {
        _freeze(alice);
        vm.expectRevert(abi.encodeWithSelector(IPermissionedToken.TokenAccountFrozen.selector, alice));
        _transfer(alice, bob, 1);
    }

    function test_transfer_revertsIfRecipientFrozenOnToken() public {
        _freeze(bob);
        vm.expectRevert(abi.encodeWithSelector(IPermissionedToken.TokenAccountFrozen.selector, bob));
        _transfer(alice, bob, 1);
    }

    function test_transfer_revertsIfSystemAccountRemoved() public {
        _transfer(alice, escrow, 10);
        vm.prank(admin);
        registry.setSystemAccount(escrow, false);
        vm.expectRevert(abi.encodeWithSelector(IPermissionedToken.TokenAccountNotVerified.selector, escrow));
        _transfer(escrow, bob, 10);
    }

    function test_transfer_revertsIfInsufficientBalance() public {
        vm.expectRevert(
            abi.encodeWithSelector(
                IERC20Errors.ERC20InsufficientBalance.selector, alice, INITIAL_BALANCE, INITIAL_BALANCE + 1
            )
        );
        _transfer(alice, bob, INITIAL_BALANCE + 1);
    }

    function test_transferFrom_bySystemAccountWithAllowance() public {
        vm.prank(alice);
        token.approve(escrow, 300);
        vm.prank(escrow);
        assertTrue(token.transferFrom(alice, escrow, 300));
        assertEq(token.balanceOf(escrow), 300);
        assertEq(token.allowance(alice, escrow), 0);
    }

    function test_transferFrom_revertsIfRecipientUnverified() public {
        vm.prank(alice);
        token.approve(bob, 300);
        vm.expectRevert(abi.encodeWithSelector(IPermissionedToken.TokenAccountNotVerified.selector, carol));
        _transferFrom(bob, alice, carol, 300);
    }

    function test_transferFrom_revertsIfOwnerFrozen() public {
        vm.prank(alice);
        token.approve(bob, 300);
        _freeze(alice);
        vm.expectRevert(abi.encodeWithSelector(IPermissionedToken.TokenAccountFrozen.selector, alice));
        _transferFrom(bob, alice, bob, 300);
    }

    function test_transferFrom_revertsWithoutAllowance() public {
        vm.expectRevert(abi.encodeWithSelector(IERC20Errors.ERC20InsufficientAllowance.selector, bob, 0, 1));
        _transferFrom(bob, alice, bob, 1);
    }

    function testFuzz_transfer_conservesSupply(uint256 amount) public {
        amount = bound(amount, 0, INITIAL_BALANCE);
        uint256 supply = token.totalSupply();
        _transfer(alice, bob, amount);
        assertEq(token.totalSupply(), supply);
        assertEq(token.balanceOf(alice) + token.balanceOf(bob), 2 * INITIAL_BALANCE);
    }

    function testFuzz_transfer_revertsToAnyUnverifiedRecipient(address recipient) public {
        vm.assume(recipient != address(0) && !registry.isVerified(recipient));
        vm.expectRevert(abi.encodeWithSelector(IPermissionedToken.TokenAccountNotVerified.selector, recipient));
        _transfer(alice, recipient, 1);
    }
}

contract CashTokenTransferTest is PermissionedTokenTransferTest {
    function _token() internal view override returns (PermissionedToken) {
        return cash;
    }
}

contract BondTokenTransferTest is PermissionedTokenTransferTest {
    function _token() internal view override returns (PermissionedToken) {
        return bond;
    }
}
