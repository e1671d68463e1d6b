// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {IAccessControl} from "@openzeppelin/contracts/access/IAccessControl.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {IERC20Errors} from "@openzeppelin/contracts/interfaces/draft-IERC6093.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";
import {PermissionedToken} from "../src/PermissionedToken.sol";
import {IPermissionedToken} from "../src/interfaces/IPermissionedToken.sol";
import {TokenFixture} from "./utils/TokenFixture.sol";

/// @notice mint, burn and burnFrom: issuer only, verified holders only, and no burning without the holder's
/// consent (own balance or allowance).
abstract contract PermissionedTokenIssuanceTest is TokenFixture {
    // ------------------------------------------------------------ mint

    function test_mint_toVerifiedHolder() public {
        uint256 supply = token.totalSupply();
        vm.expectEmit(address(token));
        emit IERC20.Transfer(address(0), bob, 42);
        vm.prank(issuer);
        token.mint(bob, 42);
        assertEq(token.balanceOf(bob), INITIAL_BALANCE + 42);
        assertEq(token.totalSupply(), supply + 42);
    }

    /// Balances share a slot with the freeze flag (248 bits): the supply may not pass 2^248 - 1.
    function test_mint_revertsPastTheSupplyCap() public {
        uint256 room = type(uint248).max - token.totalSupply();
        vm.prank(issuer);
        token.mint(bob, room);
        assertEq(token.totalSupply(), type(uint248).max);
        vm.expectRevert(
            abi.encodeWithSelector(SafeCast.SafeCastOverflowedUintDowncast.selector, 248, uint256(1) << 248)
        );
        vm.prank(issuer);
        token.mint(bob, 1);
    }

    /// The freeze flag and the balance share a word: freezing keeps the balance, moving the balance keeps the flag.
    function test_freezeFlagAndBalance_independent() public {
        vm.prank(officer);
        token.freeze(bob);
        assertEq(token.balanceOf(bob), INITIAL_BALANCE);
        vm.prank(court);
        token.forcedTransfer(bob, alice, 10, bytes32("order-1"));
        assertTrue(token.isFrozen(bob));
        assertEq(token.balanceOf(bob), INITIAL_BALANCE - 10);
        assertEq(token.balanceOf(alice), INITIAL_BALANCE + 10);
        vm.prank(officer);
        token.unfreeze(bob);
        assertEq(token.balanceOf(bob), INITIAL_BALANCE - 10);
        assertFalse(token.isFrozen(bob));
    }

    function test_mint_toSystemAccount() public {
        vm.prank(issuer);
        token.mint(escrow, 1);
        assertEq(token.balanceOf(escrow), 1);
    }

    function test_mint_revertsIfNotIssuer() public {
        bytes32 role = token.ISSUER_ROLE();
        vm.expectRevert(abi.encodeWithSelector(IAccessControl.AccessControlUnauthorizedAccount.selector, alice, role));
        vm.prank(alice);
        token.mint(alice, 1);
    }

    function test_mint_revertsIfRecipientUnverified() public {
        vm.expectRevert(abi.encodeWithSelector(IPermissionedToken.TokenAccountNotVerified.selector, carol));
        vm.prank(issuer);
        token.mint(carol, 1);
    }

    function test_mint_revertsIfRecipientKycExpired() public {
        _expireKyc(bobId);
        vm.expectRevert(abi.encodeWithSelector(IPermissionedToken.TokenAccountNotVerified.selector, bob));
        vm.prank(issuer);
        token.mint(bob, 1);
    }

    function test_mint_revertsIfRecipientFrozen() public {
        _freeze(bob);
        vm.expectRevert(abi.encodeWithSelector(IPermissionedToken.TokenAccountFrozen.selector, bob));
        vm.prank(issuer);
        token.mint(bob, 1);
    }

    function test_mint_revertsIfRecipientZero() public {
        vm.expectRevert(abi.encodeWithSelector(IERC20Errors.ERC20InvalidReceiver.selector, address(0)));
        vm.prank(issuer);
        token.mint(address(0), 1);
    }

    // ------------------------------------------------------------ burn

    function test_burn_fromIssuersOwnBalance() public {
        _transfer(alice, issuer, 500);
        uint256 supply = token.totalSupply();
        vm.expectEmit(address(token));
        emit IERC20.Transfer(issuer, address(0), 200);
        vm.prank(issuer);
        token.burn(200);
        assertEq(token.balanceOf(issuer), 300);
        assertEq(token.totalSupply(), supply - 200);
    }

    function test_burn_revertsIfNotIssuer() public {
        bytes32 role = token.ISSUER_ROLE();
        vm.expectRevert(abi.encodeWithSelector(IAccessControl.AccessControlUnauthorizedAccount.selector, alice, role));
        vm.prank(alice);
        token.burn(1);
    }

    function test_burn_revertsIfInsufficientBalance() public {
        vm.expectRevert(abi.encodeWithSelector(IERC20Errors.ERC20InsufficientBalance.selector, issuer, 0, 1));
        vm.prank(issuer);
        token.burn(1);
    }

    function test_burn_revertsIfIssuerFrozen() public {
        _transfer(alice, issuer, 5);
        _freeze(issuer);
        vm.expectRevert(abi.encodeWithSelector(IPermissionedToken.TokenAccountFrozen.selector, issuer));
        vm.prank(issuer);
        token.burn(5);
    }

    function test_burn_revertsIfIssuerUnverified() public {
        _transfer(alice, issuer, 5);
        vm.prank(admin);
        registry.revokeIdentity(issuerId);
        vm.expectRevert(abi.encodeWithSelector(IPermissionedToken.TokenAccountNotVerified.selector, issuer));
        vm.prank(issuer);
        token.burn(5);
    }

    // ------------------------------------------------------------ burnFrom

    function test_burnFrom_withHolderAllowance() public {
        vm.prank(alice);
        token.approve(issuer, 700);
        uint256 supply = token.totalSupply();
        vm.expectEmit(address(token));
        emit IERC20.Transfer(alice, address(0), 600);
        vm.prank(issuer);
        token.burnFrom(alice, 600);
        assertEq(token.balanceOf(alice), INITIAL_BALANCE - 600);
        assertEq(token.allowance(alice, issuer), 100);
        assertEq(token.totalSupply(), supply - 600);
    }

    function test_burnFrom_revertsWithoutAllowance() public {
        vm.expectRevert(abi.encodeWithSelector(IERC20Errors.ERC20InsufficientAllowance.selector, issuer, 0, 1));
        vm.prank(issuer);
        token.burnFrom(alice, 1);
    }

    function test_burnFrom_revertsBeyondAllowance() public {
        vm.prank(alice);
        token.approve(issuer, 10);
        vm.expectRevert(abi.encodeWithSelector(IERC20Errors.ERC20InsufficientAllowance.selector, issuer, 10, 11));
        vm.prank(issuer);
        token.burnFrom(alice, 11);
    }

    function test_burnFrom_revertsForAdminWithoutAllowance() public {
        // The admin holds every role, yet cannot burn a holder's tokens without its consent.
        vm.expectRevert(abi.encodeWithSelector(IERC20Errors.ERC20InsufficientAllowance.selector, admin, 0, 1));
        vm.prank(admin);
        token.burnFrom(alice, 1);
    }

    function test_burnFrom_allowanceGivenToAnotherSpenderDoesNotCount() public {
        vm.prank(alice);
        token.approve(bob, 100);
        vm.expectRevert(abi.encodeWithSelector(IERC20Errors.ERC20InsufficientAllowance.selector, issuer, 0, 1));
        vm.prank(issuer);
        token.burnFrom(alice, 1);
    }

    function test_burnFrom_revertsIfNotIssuer() public {
        vm.prank(alice);
        token.approve(bob, 100);
        bytes32 role = token.ISSUER_ROLE();
        vm.expectRevert(abi.encodeWithSelector(IAccessControl.AccessControlUnauthorizedAccount.selector, bob, role));
        vm.prank(bob);
        token.burnFrom(alice, 1);
    }

    function test_burnFrom_revertsIfHolderFrozen() public {
        vm.prank(alice);
        token.approve(issuer, 100);
        _freeze(alice);
        vm.expectRevert(abi.encodeWithSelector(IPermissionedToken.TokenAccountFrozen.selector, alice));
        vm.prank(issuer);
        token.burnFrom(alice, 1);
    }

    function test_burnFrom_revertsIfHolderUnverified() public {
        vm.prank(alice);
        token.approve(issuer, 100);
        vm.prank(admin);
        registry.freezeIdentity(aliceId);
        vm.expectRevert(abi.encodeWithSelector(IPermissionedToken.TokenAccountNotVerified.selector, alice));
        vm.prank(issuer);
        token.burnFrom(alice, 1);
    }

    function test_burnFrom_revertsIfInsufficientBalance() public {
        vm.prank(alice);
        token.approve(issuer, type(uint256).max);
        vm.expectRevert(
            abi.encodeWithSelector(
                IERC20Errors.ERC20InsufficientBalance.selector, alice, INITIAL_BALANCE, INITIAL_BALANCE + 1
            )
        );
        vm.prank(issuer);
        token.burnFrom(alice, INITIAL_BALANCE + 1);
    }

    function testFuzz_mintThenBurnFrom_restoresSupply(uint256 amount) public {
        amount = bound(amount, 0, type(uint128).max);
        uint256 supply = token.totalSupply();
        vm.prank(issuer);
        token.mint(bob, amount);
        vm.prank(bob);
        token.approve(issuer, amount);
        vm.prank(issuer);
        token.burnFrom(bob, amount);
        assertEq(token.totalSupply(), supply);
        assertEq(token.balanceOf(bob), INITIAL_BALANCE);
    }
}

contract CashTokenIssuanceTest is PermissionedTokenIssuanceTest {
    function _token() internal view override returns (PermissionedToken) {
        return cash;
    }
}

contract BondTokenIssuanceTest is PermissionedTokenIssuanceTest {
    function _token() internal view override returns (PermissionedToken) {
        return bond;
    }
}
