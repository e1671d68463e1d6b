// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {IAccessControl} from "@openzeppelin/contracts/access/IAccessControl.sol";
import {IIdentityRegistry} from "../src/interfaces/IIdentityRegistry.sol";
import {BaseFixture} from "./utils/BaseFixture.sol";

/// @notice addWallet, removeWallet, walletsOf, identityOf.
contract IdentityRegistryWalletsTest is BaseFixture {
    address internal alice = makeAddr("alice");
    address internal alice2 = makeAddr("alice2");
    address internal alice3 = makeAddr("alice3");
    address internal bob = makeAddr("bob");
    address internal stranger = makeAddr("stranger");

    uint256 internal aliceId;
    uint256 internal bobId;

    function setUp() public override {
        super.setUp();
        aliceId = _verify(alice);
        bobId = _verify(bob);
    }

    // ------------------------------------------------------------ addWallet

    function test_addWallet_linksAndVerifies() public {
        vm.expectEmit(address(registry));
        emit IIdentityRegistry.WalletAdded(aliceId, alice2);
        vm.prank(admin);
        registry.addWallet(aliceId, alice2);

        assertEq(registry.identityOf(alice2), aliceId);
        assertTrue(registry.isVerified(alice2));
        address[] memory wallets = registry.walletsOf(aliceId);
        assertEq(wallets.length, 2);
        assertEq(wallets[0], alice);
        assertEq(wallets[1], alice2);
    }

    function test_addWallet_revertsIfNotKycAgent() public {
        bytes32 role = registry.KYC_AGENT_ROLE();
        vm.expectRevert(
            abi.encodeWithSelector(IAccessControl.AccessControlUnauthorizedAccount.selector, stranger, role)
        );
        vm.prank(stranger);
        registry.addWallet(aliceId, alice2);
    }

    function test_addWallet_revertsIfIdentityUnknown() public {
        vm.expectRevert(abi.encodeWithSelector(IIdentityRegistry.IdentityNotFound.selector, 3));
        vm.prank(admin);
        registry.addWallet(3, alice2);
    }

    function test_addWallet_revertsIfIdentityRevoked() public {
        vm.prank(admin);
        registry.revokeIdentity(aliceId);
        vm.expectRevert(abi.encodeWithSelector(IIdentityRegistry.IdentityAlreadyRevoked.selector, aliceId));
        vm.prank(admin);
        registry.addWallet(aliceId, alice2);
    }

    function test_addWallet_revertsIfZero() public {
        vm.expectRevert(IIdentityRegistry.IdentityZeroAddress.selector);
        vm.prank(admin);
        registry.addWallet(aliceId, address(0));
    }

    function test_addWallet_revertsIfWalletBelongsToOtherIdentity() public {
        vm.expectRevert(abi.encodeWithSelector(IIdentityRegistry.IdentityWalletAlreadyRegistered.selector, bob, bobId));
        vm.prank(admin);
        registry.addWallet(aliceId, bob);
    }

    function test_addWallet_revertsIfWalletAlreadyOwn() public {
        vm.expectRevert(
            abi.encodeWithSelector(IIdentityRegistry.IdentityWalletAlreadyRegistered.selector, alice, aliceId)
        );
        vm.prank(admin);
        registry.addWallet(aliceId, alice);
    }

    function test_addWallet_linksToFrozenIdentityButStaysUnverified() public {
        vm.prank(admin);
        registry.freezeIdentity(aliceId);
        vm.prank(admin);
        registry.addWallet(aliceId, alice2);
        assertEq(registry.identityOf(alice2), aliceId);
        assertFalse(registry.isVerified(alice2));
    }

    // ------------------------------------------------------------ removeWallet

    function test_removeWallet_unlinksAndUnverifies() public {
        vm.startPrank(admin);
        registry.addWallet(aliceId, alice2);
        registry.addWallet(aliceId, alice3);
        vm.expectEmit(address(registry));
        emit IIdentityRegistry.WalletRemoved(aliceId, alice);
        registry.removeWallet(alice);
        vm.stopPrank();

        assertEq(registry.identityOf(alice), 0);
        assertFalse(registry.isVerified(alice));
        assertTrue(registry.isVerified(alice2));
        address[] memory wallets = registry.walletsOf(aliceId);
        assertEq(wallets.length, 2);
        assertTrue((wallets[0] == alice2 && wallets[1] == alice3) || (wallets[0] == alice3 && wallets[1] == alice2));
    }

    function test_removeWallet_freesWalletForAnotherIdentity() public {
        vm.startPrank(admin);
        registry.addWallet(aliceId, alice2);
        registry.removeWallet(alice2);
        registry.addWallet(bobId, alice2);
        vm.stopPrank();
        assertEq(registry.identityOf(alice2), bobId);
    }

    function test_removeWallet_revertsIfNotKycAgent() public {
        bytes32 role = registry.KYC_AGENT_ROLE();
        vm.expectRevert(
            abi.encodeWithSelector(IAccessControl.AccessControlUnauthorizedAccount.selector, stranger, role)
        );
        vm.prank(stranger);
        registry.removeWallet(alice);
    }

    function test_removeWallet_revertsIfNotRegistered() public {
        vm.expectRevert(abi.encodeWithSelector(IIdentityRegistry.IdentityWalletNotRegistered.selector, stranger));
        vm.prank(admin);
        registry.removeWallet(stranger);
    }

    function test_removeWallet_revertsIfLastWalletOfLiveIdentity() public {
        vm.expectRevert(abi.encodeWithSelector(IIdentityRegistry.IdentityLastWallet.selector, aliceId, alice));
        vm.prank(admin);
        registry.removeWallet(alice);
    }

    function test_removeWallet_allowsLastWalletOfRevokedIdentity() public {
        vm.startPrank(admin);
        registry.revokeIdentity(aliceId);
        registry.removeWallet(alice);
        vm.stopPrank();
        assertEq(registry.identityOf(alice), 0);
        assertEq(registry.walletsOf(aliceId).length, 0);
    }

    function test_removeWallet_revertsIfIdentityFrozen() public {
        vm.startPrank(admin);
        registry.addWallet(aliceId, alice2);
        registry.freezeIdentity(aliceId);
        vm.expectRevert(abi.encodeWithSelector(IIdentityRegistry.IdentityIsFrozen.selector, aliceId));
        registry.removeWallet(alice2);
        vm.stopPrank();
        assertEq(registry.identityOf(alice2), aliceId);
    }

    function test_removeWallet_revertsIfRevokedIdentityStillFrozen() public {
        vm.startPrank(admin);
        registry.freezeIdentity(aliceId);
        registry.revokeIdentity(aliceId);
        vm.expectRevert(abi.encodeWithSelector(IIdentityRegistry.IdentityIsFrozen.selector, aliceId));
        registry.removeWallet(alice);
        registry.unfreezeIdentity(aliceId);
        registry.removeWallet(alice);
        vm.stopPrank();
        assertEq(registry.identityOf(alice), 0);
    }

    // ------------------------------------------------------------ views

    function test_identityOf_isZeroForUnknownWallet() public view {
        assertEq(registry.identityOf(stranger), 0);
    }

    function test_walletsOf_revertsIfUnknown() public {
        vm.expectRevert(abi.encodeWithSelector(IIdentityRegistry.IdentityNotFound.selector, 99));
        registry.walletsOf(99);
    }
}
