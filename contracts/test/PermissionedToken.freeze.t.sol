// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {IAccessControl} from "@openzeppelin/contracts/access/IAccessControl.sol";
import {PermissionedToken} from "../src/PermissionedToken.sol";
import {IPermissionedToken} from "../src/interfaces/IPermissionedToken.sol";
import {TokenFixture} from "./utils/TokenFixture.sol";

/// @notice freeze, unfreeze and isFrozen: a per-token freeze list kept by compliance.
abstract contract PermissionedTokenFreezeTest is TokenFixture {
    function test_freeze_marksAndEmits() public {
        vm.expectEmit(address(token));
        emit IPermissionedToken.AccountFrozen(alice);
        vm.prank(officer);
        token.freeze(alice);
        assertTrue(token.isFrozen(alice));
        assertFalse(token.isFrozen(aliceAlt));
        assertTrue(registry.isVerified(alice));
    }

    function test_freeze_unknownAccountPreemptively() public {
        _freeze(carol);
        assertTrue(token.isFrozen(carol));
        vm.prank(admin);
        registry.addWallet(bobId, carol);
        vm.expectRevert(abi.encodeWithSelector(IPermissionedToken.TokenAccountFrozen.selector, carol));
        _transfer(bob, carol, 1);
    }

    function test_freeze_onlyThisToken() public {
        _freeze(alice);
        PermissionedToken other = address(token) == address(cash) ? PermissionedToken(bond) : PermissionedToken(cash);
        assertFalse(other.isFrozen(alice));
        _mintOther(other, alice, 10);
        vm.prank(alice);
        assertTrue(other.transfer(bob, 10));
    }

    function test_freeze_revertsIfNotCompliance() public {
        bytes32 role = token.COMPLIANCE_ROLE();
        vm.expectRevert(abi.encodeWithSelector(IAccessControl.AccessControlUnauthorizedAccount.selector, court, role));
        vm.prank(court);
        token.freeze(alice);
    }

    function test_freeze_revertsIfAlreadyFrozen() public {
        _freeze(alice);
        vm.expectRevert(abi.encodeWithSelector(IPermissionedToken.TokenAccountFrozen.selector, alice));
        vm.prank(officer);
        token.freeze(alice);
    }

    function test_freeze_revertsIfZero() public {
        vm.expectRevert(IPermissionedToken.TokenZeroAddress.selector);
        vm.prank(officer);
        token.freeze(address(0));
    }

    function test_unfreeze_restoresTransfers() public {
        _freeze(alice);
        vm.expectEmit(address(token));
        emit IPermissionedToken.AccountUnfrozen(alice);
        vm.prank(officer);
        token.unfreeze(alice);
        assertFalse(token.isFrozen(alice));
        _transfer(alice, bob, 1);
    }

    function test_unfreeze_revertsIfNotCompliance() public {
        _freeze(alice);
        bytes32 role = token.COMPLIANCE_ROLE();
        vm.expectRevert(abi.encodeWithSelector(IAccessControl.AccessControlUnauthorizedAccount.selector, alice, role));
        vm.prank(alice);
        token.unfreeze(alice);
    }

    function test_unfreeze_revertsIfNotFrozen() public {
        vm.expectRevert(abi.encodeWithSelector(IPermissionedToken.TokenAccountNotFrozen.selector, alice));
        vm.prank(officer);
        token.unfreeze(alice);
    }

    function test_isFrozen_falseByDefault() public view {
        assertFalse(token.isFrozen(alice));
        assertFalse(token.isFrozen(address(0)));
    }

    function _mintOther(PermissionedToken other, address to, uint256 amount) private {
        vm.prank(admin);
        other.mint(to, amount);
    }
}

contract CashTokenFreezeTest is PermissionedTokenFreezeTest {
    function _token() internal view override returns (PermissionedToken) {
        return cash;
    }
}

contract BondTokenFreezeTest is PermissionedTokenFreezeTest {
    function _token() internal view override returns (PermissionedToken) {
        return bond;
    }
}
