// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {BaseFixture} from "./utils/BaseFixture.sol";

/// @notice The shared fixture deploys a consistent system and its helpers do what they say.
contract BaseFixtureTest is BaseFixture {
    function test_deployBase_wiresEverything() public view {
        assertEq(block.timestamp, T0);
        assertEq(address(rules.registry()), address(registry));
        assertEq(address(cash.registry()), address(registry));
        assertEq(address(bond.registry()), address(registry));
        assertEq(cash.decimals(), CASH_DECIMALS);
        assertEq(bond.decimals(), BOND_DECIMALS);
        assertEq(bond.issuer(), bondIssuer);
        assertEq(oracle.defaultMaxAge(), ORACLE_MAX_AGE);
        assertTrue(registry.hasRole(registry.KYC_AGENT_ROLE(), admin));
        assertTrue(cash.hasRole(cash.ISSUER_ROLE(), admin));
    }

    function test_verify_registersFreshIdentities() public {
        address alice = makeAddr("alice");
        address bob = makeAddr("bob");
        uint256 aliceId = _verify(alice);
        uint256 bobId = _verify(bob);
        assertEq(aliceId, 1);
        assertEq(bobId, 2);
        assertTrue(registry.isVerified(alice));
        assertEq(registry.identityOf(bob), bobId);
        assertNotEq(registry.getIdentity(aliceId).leiHash, registry.getIdentity(bobId).leiHash);
    }

    function test_verifiedAccount_returnsSigningKey() public {
        (address wallet, uint256 key) = _verifiedAccount("carol");
        assertEq(vm.addr(key), wallet);
        assertTrue(registry.isVerified(wallet));
    }

    function test_helpers_mintAndPrice() public {
        address alice = makeAddr("alice");
        _verify(alice);
        _mintCash(alice, 100);
        _mintBond(alice, 7);
        _setBondPrice(BOND_PRICE);
        assertEq(cash.balanceOf(alice), 100);
        assertEq(bond.balanceOf(alice), 7);
        assertEq(oracle.valueOf(address(bond), address(cash), 100), 9850);
    }

    function test_addSystemAccount_countsAsVerified() public {
        address escrow = makeAddr("escrow");
        _addSystemAccount(escrow);
        assertTrue(registry.isVerified(escrow));
        _mintCash(escrow, 1);
        assertEq(cash.balanceOf(escrow), 1);
    }
}
