// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {IIdentityRegistry} from "./interfaces/IIdentityRegistry.sol";
import {PermissionedToken} from "./PermissionedToken.sol";

/// @title CashToken
/// @notice Tokenized cash (a deposit token) in one currency: the issuer mints against money received off chain
/// and burns, with the holder's consent, when it is paid out. Only verified, unfrozen wallets can hold it.
contract CashToken is PermissionedToken {
    /// @notice The currency is not three upper-case ASCII letters (ISO 4217).
    error CashTokenInvalidCurrency(string currency);

    string private _currency;

    /// @notice Deploys a cash token and grants every role to `admin`.
    /// @param name_ ERC-20 name, e.g. "Euro Deposit Token".
    /// @param symbol_ ERC-20 symbol, e.g. "EURD".
    /// @param currency_ ISO 4217 code, e.g. "EUR".
    /// @param decimals_ ERC-20 decimals (usually the currency's minor units, e.g. 2).
    /// @param registry_ The identity registry.
    /// @param admin Receives every role.
    constructor(
        string memory name_,
        string memory symbol_,
        string memory currency_,
        uint8 decimals_,
        IIdentityRegistry registry_,
        address admin
    ) PermissionedToken(name_, symbol_, decimals_, registry_, admin) {
        if (!_isCurrencyCode(bytes(currency_))) revert CashTokenInvalidCurrency(currency_);
        _currency = currency_;
    }

    /// @notice The ISO 4217 currency code of the cash this token represents.
    /// @return The currency code, e.g. "EUR".
    function currency() external view returns (string memory) {
        return _currency;
    }

    function _isCurrencyCode(bytes memory code) private pure returns (bool) {
        if (code.length != 3) return false;
        for (uint256 i = 0; i < 3; ++i) {
            if (code[i] < 0x41 || code[i] > 0x5A) return false;
        }
        return true;
    }
}
