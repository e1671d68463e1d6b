// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {CashToken} from "../src/CashToken.sol";
import {IIdentityRegistry} from "../src/interfaces/IIdentityRegistry.sol";
import {IPermissionedToken} from "../src/interfaces/IPermissionedToken.sol";
import {BaseFixture} from "./utils/BaseFixture.sol";

/// @notice CashToken construction and metadata.
contract CashTokenTest is BaseFixture {
    function test_constructor_setsMetadata() public view {
        assertEq(cash.name(), "Euro Deposit Token");
        assertEq(cash.symbol(), "EURD");
        assertEq(cash.currency(), "EUR");
        assertEq(uint256(cash.decimals()), uint256(CASH_DECIMALS));
        assertEq(address(cash.registry()), address(registry));
        assertEq(cash.totalSupply(), 0);
        assertFalse(cash.paused());
    }

    function test_constructor_grantsEveryRoleToAdmin() public view {
        assertTrue(cash.hasRole(cash.DEFAULT_ADMIN_ROLE(), admin));
        assertTrue(cash.hasRole(cash.PAUSER_ROLE(), admin));
        assertTrue(cash.hasRole(cash.COMPLIANCE_ROLE(), admin));
        assertTrue(cash.hasRole(cash.COURT_ORDER_ROLE(), admin));
        assertTrue(cash.hasRole(cash.ISSUER_ROLE(), admin));
    }

    function test_constructor_acceptsAnyDecimals() public {
        CashToken yen = new CashToken("Yen Deposit Token", "JPYD", "JPY", 0, registry, admin);
        assertEq(uint256(yen.decimals()), 0);
        CashToken usd = new CashToken("Dollar Deposit Token", "USDD", "USD", 18, registry, admin);
        assertEq(uint256(usd.decimals()), 18);
    }

    function test_constructor_revertsIfCurrencyInvalid() public {
        string[5] memory bad = ["eur", "EU", "EURO", "", "E1R"];
        for (uint256 i = 0; i < bad.length; ++i) {
            vm.expectRevert(abi.encodeWithSelector(CashToken.CashTokenInvalidCurrency.selector, bad[i]));
            new CashToken("X", "X", bad[i], 2, registry, admin);
        }
    }

    function test_constructor_revertsIfRegistryZero() public {
        vm.expectRevert(IPermissionedToken.TokenZeroAddress.selector);
        new CashToken("X", "X", "EUR", 2, IIdentityRegistry(address(0)), admin);
    }

    function test_constructor_revertsIfAdminZero() public {
        vm.expectRevert(IPermissionedToken.TokenZeroAddress.selector);
        new CashToken("X", "X", "EUR", 2, registry, address(0));
    }

    function test_supportsInterface_accessControl() public view {
        assertTrue(cash.supportsInterface(0x7965db0b)); // IAccessControl
        assertTrue(cash.supportsInterface(0x01ffc9a7)); // IERC165
    }
}
