// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {IAccessControl} from "@openzeppelin/contracts/access/IAccessControl.sol";
import {AccountRules} from "../src/AccountRules.sol";
import {IAccountRules} from "../src/interfaces/IAccountRules.sol";
import {IIdentityRegistry} from "../src/interfaces/IIdentityRegistry.sol";
import {BaseFixture} from "./utils/BaseFixture.sol";

/// @notice AccountRules: transactionAllowed for verified senders and system accounts, and its admin functions.
contract AccountRulesTest is BaseFixture {
    address internal alice = makeAddr("alice");
    address internal stranger = makeAddr("stranger");
    address internal relayer = makeAddr("relayer");
    uint256 internal aliceId;

    function setUp() public override {
        super.setUp();
        aliceId = _verify(alice);
    }

    function _allowed(address sender) internal view returns (bool) {
        return rules.transactionAllowed(sender, address(cash), 0, 0, 100_000, hex"a9059cbb");
    }

    // ------------------------------------------------------------ constructor

    function test_constructor_setsRegistryAndAdmin() public view {
        assertEq(address(rules.registry()), address(registry));
        assertTrue(rules.hasRole(rules.DEFAULT_ADMIN_ROLE(), admin));
    }

    function test_constructor_revertsIfRegistryZero() public {
        vm.expectRevert(IAccountRules.AccountRulesZeroAddress.selector);
        new AccountRules(IIdentityRegistry(address(0)), admin);
    }

    function test_constructor_revertsIfAdminZero() public {
        vm.expectRevert(IAccountRules.AccountRulesZeroAddress.selector);
        new AccountRules(registry, address(0));
    }

    // ------------------------------------------------------------ transactionAllowed

    function test_transactionAllowed_trueForVerifiedSender() public view {
        assertTrue(_allowed(alice));
    }

    function test_transactionAllowed_falseForUnknownSender() public view {
        assertFalse(_allowed(stranger));
    }

    function test_transactionAllowed_ignoresTargetValueGasAndPayload() public view {
        assertTrue(rules.transactionAllowed(alice, address(0), 1 ether, 1 gwei, 30_000_000, ""));
        assertFalse(rules.transactionAllowed(stranger, address(0), 0, 0, 21_000, hex"00"));
    }

    function test_transactionAllowed_falseAfterKycExpiry() public {
        vm.warp(registry.getIdentity(aliceId).kycExpiry);
        assertFalse(_allowed(alice));
    }

    function test_transactionAllowed_falseWhenIdentityFrozen() public {
        vm.prank(admin);
        registry.freezeIdentity(aliceId);
        assertFalse(_allowed(alice));
    }

    function test_transactionAllowed_falseWhenIdentityRevoked() public {
        vm.prank(admin);
        registry.revokeIdentity(aliceId);
        assertFalse(_allowed(alice));
    }

    function test_transactionAllowed_trueForRegistrySystemAccount() public {
        _addSystemAccount(stranger);
        assertTrue(_allowed(stranger));
    }

    function test_transactionAllowed_trueForOwnSystemAccount() public {
        vm.prank(admin);
        rules.setSystemAccount(relayer, true);
        assertTrue(_allowed(relayer));
        assertFalse(registry.isVerified(relayer));
    }

    // ------------------------------------------------------------ setSystemAccount, isSystemAccount

    function test_setSystemAccount_addsAndRemoves() public {
        vm.expectEmit(address(rules));
        emit IAccountRules.SystemAccountSet(relayer, true);
        vm.prank(admin);
        rules.setSystemAccount(relayer, true);
        assertTrue(rules.isSystemAccount(relayer));

        vm.expectEmit(address(rules));
        emit IAccountRules.SystemAccountSet(relayer, false);
        vm.prank(admin);
        rules.setSystemAccount(relayer, false);
        assertFalse(rules.isSystemAccount(relayer));
        assertFalse(_allowed(relayer));
    }

    function test_setSystemAccount_revertsIfNotAdmin() public {
        bytes32 role = rules.DEFAULT_ADMIN_ROLE();
        vm.expectRevert(abi.encodeWithSelector(IAccessControl.AccessControlUnauthorizedAccount.selector, alice, role));
        vm.prank(alice);
        rules.setSystemAccount(relayer, true);
    }

    function test_setSystemAccount_revertsIfZero() public {
        vm.expectRevert(IAccountRules.AccountRulesZeroAddress.selector);
        vm.prank(admin);
        rules.setSystemAccount(address(0), true);
    }

    function test_isSystemAccount_independentOfRegistry() public {
        _addSystemAccount(stranger);
        assertFalse(rules.isSystemAccount(stranger));
    }

    function testFuzz_transactionAllowed_onlyVerifiedOrSystem(address sender, bool asSystem) public {
        vm.assume(sender != address(0) && sender != alice);
        if (asSystem) {
            vm.prank(admin);
            rules.setSystemAccount(sender, true);
        }
        assertEq(_allowed(sender), asSystem);
    }
}
