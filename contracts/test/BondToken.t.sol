// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {BondToken} from "../src/BondToken.sol";
import {IIdentityRegistry} from "../src/interfaces/IIdentityRegistry.sol";
import {IPermissionedToken} from "../src/interfaces/IPermissionedToken.sol";
import {BaseFixture} from "./utils/BaseFixture.sol";

/// @notice BondToken construction and security metadata.
contract BondTokenTest is BaseFixture {
    function _deploy(string memory isin, address issuer_, IIdentityRegistry registry_, address admin_)
        internal
        returns (BondToken)
    {
        return new BondToken("Bond", "BND", isin, 0, 0.01e18, T0 + 365 days, issuer_, registry_, admin_);
    }

    function test_constructor_setsSecurityMetadata() public view {
        assertEq(bond.name(), "Bund 2.5% 2035");
        assertEq(bond.symbol(), "DBR35");
        assertEq(bond.isin(), BOND_ISIN);
        assertEq(uint256(bond.decimals()), uint256(BOND_DECIMALS));
        assertEq(bond.couponRate(), BOND_COUPON);
        assertEq(uint256(bond.maturity()), uint256(T0 + 10 * 365 days));
        assertEq(bond.issuer(), bondIssuer);
        assertEq(address(bond.registry()), address(registry));
    }

    function test_constructor_grantsEveryRoleToAdminNotIssuer() public view {
        assertTrue(bond.hasRole(bond.DEFAULT_ADMIN_ROLE(), admin));
        assertTrue(bond.hasRole(bond.PAUSER_ROLE(), admin));
        assertTrue(bond.hasRole(bond.COMPLIANCE_ROLE(), admin));
        assertTrue(bond.hasRole(bond.COURT_ORDER_ROLE(), admin));
        assertTrue(bond.hasRole(bond.ISSUER_ROLE(), admin));
        assertFalse(bond.hasRole(bond.ISSUER_ROLE(), bondIssuer));
    }

    function test_constructor_acceptsDigitsAndLetters() public {
        BondToken token = _deploy("XS1234567890", bondIssuer, registry, admin);
        assertEq(token.isin(), "XS1234567890");
        token = _deploy("US912828ZT04", bondIssuer, registry, admin);
        assertEq(token.isin(), "US912828ZT04");
    }

    function test_constructor_revertsIfIsinInvalid() public {
        string[6] memory bad = ["", "DE000110258", "DE00011025800", "de0001102580", "DE000110258-", "DE0001102 80"];
        for (uint256 i = 0; i < bad.length; ++i) {
            vm.expectRevert(abi.encodeWithSelector(BondToken.BondTokenInvalidIsin.selector, bad[i]));
            _deploy(bad[i], bondIssuer, registry, admin);
        }
    }

    function test_constructor_revertsIfIssuerZero() public {
        vm.expectRevert(IPermissionedToken.TokenZeroAddress.selector);
        _deploy(BOND_ISIN, address(0), registry, admin);
    }

    function test_constructor_revertsIfRegistryZero() public {
        vm.expectRevert(IPermissionedToken.TokenZeroAddress.selector);
        _deploy(BOND_ISIN, bondIssuer, IIdentityRegistry(address(0)), admin);
    }

    function test_constructor_revertsIfAdminZero() public {
        vm.expectRevert(IPermissionedToken.TokenZeroAddress.selector);
        _deploy(BOND_ISIN, bondIssuer, registry, address(0));
    }

    function test_transfer_stillPossibleAfterMaturity() public {
        address alice = makeAddr("alice");
        address bob = makeAddr("bob");
        _verify(alice);
        _verify(bob);
        _mintBond(alice, 10);
        vm.warp(bond.maturity() + 1);
        vm.startPrank(admin);
        registry.updateIdentity(1, JURISDICTION, INVESTOR_CLASS, uint64(block.timestamp) + 1 days);
        registry.updateIdentity(2, JURISDICTION, INVESTOR_CLASS, uint64(block.timestamp) + 1 days);
        vm.stopPrank();
        vm.prank(alice);
        assertTrue(bond.transfer(bob, 10));
        assertEq(bond.balanceOf(bob), 10);
    }
}
