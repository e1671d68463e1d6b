// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {IAccessControl} from "@openzeppelin/contracts/access/IAccessControl.sol";
import {IIdentityRegistry} from "../src/interfaces/IIdentityRegistry.sol";
import {BaseFixture} from "./utils/BaseFixture.sol";

/// @notice isVerified under KYC expiry, revocation, freezing and system accounts; revokeIdentity,
/// freezeIdentity, unfreezeIdentity, setSystemAccount, isSystemAccount.
contract IdentityRegistryVerificationTest is BaseFixture {
    address internal alice = makeAddr("alice");
    address internal alice2 = makeAddr("alice2");
    address internal stranger = makeAddr("stranger");
    address internal officer = makeAddr("officer");
    address internal escrow = makeAddr("escrow");

    uint256 internal aliceId;
    uint64 internal expiry;

    function setUp() public override {
        super.setUp();
        address[] memory wallets = new address[](2);
        wallets[0] = alice;
        wallets[1] = alice2;
        aliceId = _verify(wallets);
        expiry = registry.getIdentity(aliceId).kycExpiry;
        bytes32 compliance = registry.COMPLIANCE_ROLE();
        vm.prank(admin);
        registry.grantRole(compliance, officer);
    }

    // ------------------------------------------------------------ isVerified and expiry

    function test_isVerified_falseForUnknownWallet() public view {
        assertFalse(registry.isVerified(stranger));
        assertFalse(registry.isVerified(address(0)));
    }

    function test_isVerified_trueUntilJustBeforeKycExpiry() public {
        vm.warp(expiry - 1);
        assertTrue(registry.isVerified(alice));
    }

    function test_isVerified_falseAtKycExpiry() public {
        vm.warp(expiry);
        assertFalse(registry.isVerified(alice));
        assertFalse(registry.isVerified(alice2));
        assertEq(registry.identityOf(alice), aliceId);
    }

    function testFuzz_isVerified_matchesExpiry(uint64 time) public {
        time = uint64(bound(time, T0, type(uint64).max));
        vm.warp(time);
        assertEq(registry.isVerified(alice), time < expiry);
    }

    // ------------------------------------------------------------ revokeIdentity

    function test_revokeIdentity_unverifiesAllWallets() public {
        vm.expectEmit(address(registry));
        emit IIdentityRegistry.IdentityRevoked(aliceId);
        vm.prank(admin);
        registry.revokeIdentity(aliceId);

        assertFalse(registry.isVerified(alice));
        assertFalse(registry.isVerified(alice2));
        assertTrue(registry.getIdentity(aliceId).revoked);
        assertEq(registry.identityOf(alice), aliceId);
    }

    function test_revokeIdentity_revertsIfNotKycAgent() public {
        bytes32 role = registry.KYC_AGENT_ROLE();
        vm.expectRevert(abi.encodeWithSelector(IAccessControl.AccessControlUnauthorizedAccount.selector, officer, role));
        vm.prank(officer);
        registry.revokeIdentity(aliceId);
    }

    function test_revokeIdentity_revertsIfUnknown() public {
        vm.expectRevert(abi.encodeWithSelector(IIdentityRegistry.IdentityNotFound.selector, 2));
        vm.prank(admin);
        registry.revokeIdentity(2);
    }

    function test_revokeIdentity_revertsIfAlreadyRevoked() public {
        vm.startPrank(admin);
        registry.revokeIdentity(aliceId);
        vm.expectRevert(abi.encodeWithSelector(IIdentityRegistry.IdentityAlreadyRevoked.selector, aliceId));
        registry.revokeIdentity(aliceId);
        vm.stopPrank();
    }

    // ------------------------------------------------------------ freezeIdentity, unfreezeIdentity

    function test_freezeIdentity_unverifiesUntilUnfrozen() public {
        vm.expectEmit(address(registry));
        emit IIdentityRegistry.IdentityFrozen(aliceId);
        vm.prank(officer);
        registry.freezeIdentity(aliceId);
        assertTrue(registry.getIdentity(aliceId).frozen);
        assertFalse(registry.isVerified(alice));
        assertFalse(registry.isVerified(alice2));

        vm.expectEmit(address(registry));
        emit IIdentityRegistry.IdentityUnfrozen(aliceId);
        vm.prank(officer);
        registry.unfreezeIdentity(aliceId);
        assertFalse(registry.getIdentity(aliceId).frozen);
        assertTrue(registry.isVerified(alice));
    }

    function test_freezeIdentity_revertsIfNotCompliance() public {
        address kycAgent = makeAddr("kycAgent");
        bytes32 kyc = registry.KYC_AGENT_ROLE();
        vm.prank(admin);
        registry.grantRole(kyc, kycAgent);
        bytes32 role = registry.COMPLIANCE_ROLE();
        vm.expectRevert(
            abi.encodeWithSelector(IAccessControl.AccessControlUnauthorizedAccount.selector, kycAgent, role)
        );
        vm.prank(kycAgent);
        registry.freezeIdentity(aliceId);
    }

    function test_freezeIdentity_revertsIfUnknown() public {
        vm.expectRevert(abi.encodeWithSelector(IIdentityRegistry.IdentityNotFound.selector, 7));
        vm.prank(officer);
        registry.freezeIdentity(7);
    }

    function test_freezeIdentity_revertsIfRevoked() public {
        vm.prank(admin);
        registry.revokeIdentity(aliceId);
        vm.expectRevert(abi.encodeWithSelector(IIdentityRegistry.IdentityAlreadyRevoked.selector, aliceId));
        vm.prank(officer);
        registry.freezeIdentity(aliceId);
    }

    function test_freezeIdentity_revertsIfAlreadyFrozen() public {
        vm.startPrank(officer);
        registry.freezeIdentity(aliceId);
        vm.expectRevert(abi.encodeWithSelector(IIdentityRegistry.IdentityAlreadyFrozen.selector, aliceId));
        registry.freezeIdentity(aliceId);
        vm.stopPrank();
    }

    function test_unfreezeIdentity_revertsIfNotCompliance() public {
        vm.prank(officer);
        registry.freezeIdentity(aliceId);
        bytes32 role = registry.COMPLIANCE_ROLE();
        vm.expectRevert(
            abi.encodeWithSelector(IAccessControl.AccessControlUnauthorizedAccount.selector, stranger, role)
        );
        vm.prank(stranger);
        registry.unfreezeIdentity(aliceId);
    }

    function test_unfreezeIdentity_revertsIfNotFrozen() public {
        vm.expectRevert(abi.encodeWithSelector(IIdentityRegistry.IdentityNotFrozen.selector, aliceId));
        vm.prank(officer);
        registry.unfreezeIdentity(aliceId);
    }

    function test_unfreezeIdentity_revertsIfUnknown() public {
        vm.expectRevert(abi.encodeWithSelector(IIdentityRegistry.IdentityNotFound.selector, 0));
        vm.prank(officer);
        registry.unfreezeIdentity(0);
    }

    function test_unfreezeIdentity_allowedOnRevokedIdentityWhichStaysUnverified() public {
        vm.prank(officer);
        registry.freezeIdentity(aliceId);
        vm.prank(admin);
        registry.revokeIdentity(aliceId);
        vm.expectEmit(address(registry));
        emit IIdentityRegistry.IdentityUnfrozen(aliceId);
        vm.prank(officer);
        registry.unfreezeIdentity(aliceId);
        assertFalse(registry.getIdentity(aliceId).frozen);
        assertFalse(registry.isVerified(alice));
    }

    function test_unfreezeIdentity_doesNotRenewLapsedKyc() public {
        vm.prank(officer);
        registry.freezeIdentity(aliceId);
        vm.warp(expiry);
        vm.prank(officer);
        registry.unfreezeIdentity(aliceId);
        assertFalse(registry.isVerified(alice));
    }

    // ------------------------------------------------------------ system accounts

    function test_setSystemAccount_verifiesWithoutIdentity() public {
        vm.expectEmit(address(registry));
        emit IIdentityRegistry.SystemAccountSet(escrow, true);
        vm.prank(admin);
        registry.setSystemAccount(escrow, true);
        assertTrue(registry.isSystemAccount(escrow));
        assertTrue(registry.isVerified(escrow));
        assertEq(registry.identityOf(escrow), 0);

        vm.warp(type(uint64).max);
        assertTrue(registry.isVerified(escrow));
    }

    function test_setSystemAccount_removal() public {
        vm.startPrank(admin);
        registry.setSystemAccount(escrow, true);
        vm.expectEmit(address(registry));
        emit IIdentityRegistry.SystemAccountSet(escrow, false);
        registry.setSystemAccount(escrow, false);
        vm.stopPrank();
        assertFalse(registry.isSystemAccount(escrow));
        assertFalse(registry.isVerified(escrow));
    }

    function test_setSystemAccount_revertsIfNotAdmin() public {
        bytes32 role = registry.DEFAULT_ADMIN_ROLE();
        vm.expectRevert(abi.encodeWithSelector(IAccessControl.AccessControlUnauthorizedAccount.selector, officer, role));
        vm.prank(officer);
        registry.setSystemAccount(escrow, true);
    }

    function test_setSystemAccount_revertsIfZero() public {
        vm.expectRevert(IIdentityRegistry.IdentityZeroAddress.selector);
        vm.prank(admin);
        registry.setSystemAccount(address(0), true);
    }

    function test_isSystemAccount_falseByDefault() public view {
        assertFalse(registry.isSystemAccount(escrow));
        assertFalse(registry.isSystemAccount(alice));
    }
}
