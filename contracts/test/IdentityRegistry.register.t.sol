// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {IAccessControl} from "@openzeppelin/contracts/access/IAccessControl.sol";
import {IdentityRegistry} from "../src/IdentityRegistry.sol";
import {IIdentityRegistry} from "../src/interfaces/IIdentityRegistry.sol";
import {BaseFixture} from "./utils/BaseFixture.sol";

/// @notice registerIdentity, updateIdentity, getIdentity, identityCount and the constructor.
contract IdentityRegistryRegisterTest is BaseFixture {
    bytes32 internal constant LEI = keccak256("529900T8BM49AURSDO55");
    bytes2 internal constant DE = "DE";
    bytes2 internal constant FR = "FR";
    bytes2 internal constant FR_LOWER = "fr";

    address internal alice = makeAddr("alice");
    address internal alice2 = makeAddr("alice2");
    address internal stranger = makeAddr("stranger");
    address internal kycAgent = makeAddr("kycAgent");

    function setUp() public override {
        super.setUp();
        bytes32 role = registry.KYC_AGENT_ROLE();
        vm.prank(admin);
        registry.grantRole(role, kycAgent);
    }

    function _wallets(address a) internal pure returns (address[] memory wallets) {
        wallets = new address[](1);
        wallets[0] = a;
    }

    function _wallets(address a, address b) internal pure returns (address[] memory wallets) {
        wallets = new address[](2);
        wallets[0] = a;
        wallets[1] = b;
    }

    function _register(bytes32 lei, address[] memory wallets) internal returns (uint256) {
        vm.prank(kycAgent);
        return registry.registerIdentity(lei, "DE", 2, T0 + 30 days, wallets);
    }

    // ------------------------------------------------------------ constructor

    function test_constructor_grantsEveryRoleToAdmin() public view {
        assertTrue(registry.hasRole(registry.DEFAULT_ADMIN_ROLE(), admin));
        assertTrue(registry.hasRole(registry.KYC_AGENT_ROLE(), admin));
        assertTrue(registry.hasRole(registry.COMPLIANCE_ROLE(), admin));
        assertEq(registry.identityCount(), 0);
    }

    function test_constructor_revertsIfAdminZero() public {
        vm.expectRevert(IIdentityRegistry.IdentityZeroAddress.selector);
        new IdentityRegistry(address(0));
    }

    // ------------------------------------------------------------ registerIdentity

    function test_registerIdentity_storesRecordAndWallets() public {
        uint256 id = _register(LEI, _wallets(alice, alice2));

        assertEq(id, 1);
        assertEq(registry.identityCount(), 1);
        IIdentityRegistry.Identity memory identity = registry.getIdentity(id);
        assertEq(identity.leiHash, LEI);
        assertEq(identity.jurisdiction, DE);
        assertEq(uint256(identity.investorClass), 2);
        assertEq(uint256(identity.kycExpiry), uint256(T0 + 30 days));
        assertFalse(identity.frozen);
        assertFalse(identity.revoked);
        assertEq(registry.identityOf(alice), id);
        assertEq(registry.identityOf(alice2), id);
        assertEq(registry.walletsOf(id), _wallets(alice, alice2));
        assertTrue(registry.isVerified(alice));
        assertTrue(registry.isVerified(alice2));
    }

    function test_registerIdentity_assignsSequentialIds() public {
        assertEq(_register(LEI, _wallets(alice)), 1);
        assertEq(_register(keccak256("other"), _wallets(alice2)), 2);
        assertEq(registry.identityCount(), 2);
    }

    function test_registerIdentity_emitsRegisteredThenWalletAdded() public {
        vm.expectEmit(address(registry));
        emit IIdentityRegistry.IdentityRegistered(1, LEI, "DE", 2, T0 + 30 days);
        vm.expectEmit(address(registry));
        emit IIdentityRegistry.WalletAdded(1, alice);
        vm.expectEmit(address(registry));
        emit IIdentityRegistry.WalletAdded(1, alice2);
        _register(LEI, _wallets(alice, alice2));
    }

    function test_registerIdentity_revertsIfNotKycAgent() public {
        bytes32 role = registry.KYC_AGENT_ROLE();
        vm.expectRevert(
            abi.encodeWithSelector(IAccessControl.AccessControlUnauthorizedAccount.selector, stranger, role)
        );
        vm.prank(stranger);
        registry.registerIdentity(LEI, "DE", 2, T0 + 30 days, _wallets(alice));
    }

    function test_registerIdentity_revertsIfComplianceOnly() public {
        address officer = makeAddr("officer");
        bytes32 compliance = registry.COMPLIANCE_ROLE();
        vm.prank(admin);
        registry.grantRole(compliance, officer);
        bytes32 role = registry.KYC_AGENT_ROLE();
        vm.expectRevert(abi.encodeWithSelector(IAccessControl.AccessControlUnauthorizedAccount.selector, officer, role));
        vm.prank(officer);
        registry.registerIdentity(LEI, "DE", 2, T0 + 30 days, _wallets(alice));
    }

    function test_registerIdentity_revertsIfLeiHashZero() public {
        vm.expectRevert(IIdentityRegistry.IdentityInvalidLeiHash.selector);
        _register(bytes32(0), _wallets(alice));
    }

    function test_registerIdentity_revertsIfLeiAlreadyRegistered() public {
        _register(LEI, _wallets(alice));
        vm.expectRevert(abi.encodeWithSelector(IIdentityRegistry.IdentityLeiAlreadyRegistered.selector, LEI, 1));
        _register(LEI, _wallets(alice2));
    }

    function test_registerIdentity_allowsLeiAgainAfterRevocation() public {
        uint256 first = _register(LEI, _wallets(alice));
        vm.prank(kycAgent);
        registry.revokeIdentity(first);
        uint256 second = _register(LEI, _wallets(alice2));
        assertEq(second, 2);
        assertTrue(registry.isVerified(alice2));
        assertFalse(registry.isVerified(alice));
    }

    function test_registerIdentity_revertsIfJurisdictionNotTwoUpperLetters() public {
        bytes2[5] memory bad;
        bad[0] = "gb";
        bad[1] = "G1";
        bad[2] = 0x4700; // "G" then NUL
        bad[3] = "@Z"; // just below "A"
        bad[4] = "[A"; // just above "Z"
        for (uint256 i = 0; i < bad.length; ++i) {
            vm.expectRevert(abi.encodeWithSelector(IIdentityRegistry.IdentityInvalidJurisdiction.selector, bad[i]));
            vm.prank(kycAgent);
            registry.registerIdentity(LEI, bad[i], 1, T0 + 1 days, _wallets(alice));
        }
    }

    function test_registerIdentity_acceptsJurisdictionBoundaryLetters() public {
        vm.prank(kycAgent);
        registry.registerIdentity(LEI, "AZ", 1, T0 + 1 days, _wallets(alice));
        vm.prank(kycAgent);
        registry.registerIdentity(keccak256("x"), "ZA", 1, T0 + 1 days, _wallets(alice2));
    }

    function test_registerIdentity_revertsIfKycExpiryNotInFuture() public {
        vm.expectRevert(abi.encodeWithSelector(IIdentityRegistry.IdentityInvalidKycExpiry.selector, T0));
        vm.prank(kycAgent);
        registry.registerIdentity(LEI, "GB", 1, T0, _wallets(alice));

        vm.expectRevert(abi.encodeWithSelector(IIdentityRegistry.IdentityInvalidKycExpiry.selector, T0 - 1));
        vm.prank(kycAgent);
        registry.registerIdentity(LEI, "GB", 1, T0 - 1, _wallets(alice));
    }

    function test_registerIdentity_revertsIfNoWallets() public {
        vm.expectRevert(IIdentityRegistry.IdentityNoWallets.selector);
        _register(LEI, new address[](0));
    }

    function test_registerIdentity_revertsIfWalletZero() public {
        vm.expectRevert(IIdentityRegistry.IdentityZeroAddress.selector);
        _register(LEI, _wallets(alice, address(0)));
    }

    function test_registerIdentity_revertsIfWalletOfAnotherIdentity() public {
        _register(LEI, _wallets(alice));
        vm.expectRevert(abi.encodeWithSelector(IIdentityRegistry.IdentityWalletAlreadyRegistered.selector, alice, 1));
        _register(keccak256("other"), _wallets(alice2, alice));
    }

    function test_registerIdentity_revertsIfWalletListedTwice() public {
        vm.expectRevert(abi.encodeWithSelector(IIdentityRegistry.IdentityWalletAlreadyRegistered.selector, alice, 1));
        _register(LEI, _wallets(alice, alice));
    }

    function test_registerIdentity_revertsIfWalletOfRevokedIdentity() public {
        uint256 id = _register(LEI, _wallets(alice));
        vm.prank(kycAgent);
        registry.revokeIdentity(id);
        vm.expectRevert(abi.encodeWithSelector(IIdentityRegistry.IdentityWalletAlreadyRegistered.selector, alice, id));
        _register(keccak256("other"), _wallets(alice));
    }

    // ------------------------------------------------------------ updateIdentity

    function test_updateIdentity_changesTermsAndEmits() public {
        uint256 id = _register(LEI, _wallets(alice));
        vm.expectEmit(address(registry));
        emit IIdentityRegistry.IdentityUpdated(id, "FR", 3, T0 + 400 days);
        vm.prank(kycAgent);
        registry.updateIdentity(id, "FR", 3, T0 + 400 days);

        IIdentityRegistry.Identity memory identity = registry.getIdentity(id);
        assertEq(identity.leiHash, LEI);
        assertEq(identity.jurisdiction, FR);
        assertEq(uint256(identity.investorClass), 3);
        assertEq(uint256(identity.kycExpiry), uint256(T0 + 400 days));
    }

    function test_updateIdentity_renewsLapsedKyc() public {
        uint256 id = _register(LEI, _wallets(alice));
        vm.warp(T0 + 31 days);
        assertFalse(registry.isVerified(alice));
        vm.prank(kycAgent);
        registry.updateIdentity(id, "DE", 2, T0 + 400 days);
        assertTrue(registry.isVerified(alice));
    }

    function test_updateIdentity_revertsIfNotKycAgent() public {
        uint256 id = _register(LEI, _wallets(alice));
        bytes32 role = registry.KYC_AGENT_ROLE();
        vm.expectRevert(
            abi.encodeWithSelector(IAccessControl.AccessControlUnauthorizedAccount.selector, stranger, role)
        );
        vm.prank(stranger);
        registry.updateIdentity(id, "FR", 3, T0 + 400 days);
    }

    function test_updateIdentity_revertsIfUnknown() public {
        vm.expectRevert(abi.encodeWithSelector(IIdentityRegistry.IdentityNotFound.selector, 1));
        vm.prank(kycAgent);
        registry.updateIdentity(1, "FR", 3, T0 + 400 days);

        vm.expectRevert(abi.encodeWithSelector(IIdentityRegistry.IdentityNotFound.selector, 0));
        vm.prank(kycAgent);
        registry.updateIdentity(0, "FR", 3, T0 + 400 days);
    }

    function test_updateIdentity_revertsIfRevoked() public {
        uint256 id = _register(LEI, _wallets(alice));
        vm.prank(kycAgent);
        registry.revokeIdentity(id);
        vm.expectRevert(abi.encodeWithSelector(IIdentityRegistry.IdentityAlreadyRevoked.selector, id));
        vm.prank(kycAgent);
        registry.updateIdentity(id, "FR", 3, T0 + 400 days);
    }

    function test_updateIdentity_revertsIfJurisdictionInvalid() public {
        uint256 id = _register(LEI, _wallets(alice));
        vm.expectRevert(abi.encodeWithSelector(IIdentityRegistry.IdentityInvalidJurisdiction.selector, FR_LOWER));
        vm.prank(kycAgent);
        registry.updateIdentity(id, "fr", 3, T0 + 400 days);
    }

    function test_updateIdentity_revertsIfKycExpiryNotInFuture() public {
        uint256 id = _register(LEI, _wallets(alice));
        vm.expectRevert(abi.encodeWithSelector(IIdentityRegistry.IdentityInvalidKycExpiry.selector, T0));
        vm.prank(kycAgent);
        registry.updateIdentity(id, "FR", 3, T0);
    }

    // ------------------------------------------------------------ getIdentity, identityCount

    function test_getIdentity_revertsIfUnknown() public {
        vm.expectRevert(abi.encodeWithSelector(IIdentityRegistry.IdentityNotFound.selector, 0));
        registry.getIdentity(0);
        _register(LEI, _wallets(alice));
        vm.expectRevert(abi.encodeWithSelector(IIdentityRegistry.IdentityNotFound.selector, 2));
        registry.getIdentity(2);
    }

    function testFuzz_registerIdentity_storesAnyValidTerms(
        bytes32 lei,
        uint8 first,
        uint8 second,
        uint8 investorClass,
        uint64 kycExpiry
    ) public {
        vm.assume(lei != bytes32(0));
        bytes2 jurisdiction =
            bytes2(abi.encodePacked(bytes1(uint8(bound(first, 0x41, 0x5A))), bytes1(uint8(bound(second, 0x41, 0x5A)))));
        kycExpiry = uint64(bound(kycExpiry, T0 + 1, type(uint64).max));
        vm.prank(kycAgent);
        uint256 id = registry.registerIdentity(lei, jurisdiction, investorClass, kycExpiry, _wallets(alice));
        IIdentityRegistry.Identity memory identity = registry.getIdentity(id);
        assertEq(identity.leiHash, lei);
        assertEq(identity.jurisdiction, jurisdiction);
        assertEq(uint256(identity.investorClass), uint256(investorClass));
        assertEq(uint256(identity.kycExpiry), uint256(kycExpiry));
        assertTrue(registry.isVerified(alice));
    }
}
