// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {IIdentityRegistry} from "./interfaces/IIdentityRegistry.sol";
import {PermissionedToken} from "./PermissionedToken.sol";

/// @title BondToken
/// @notice One tokenized security (one ISIN). One token unit (`10 ** decimals()` smallest units) is one currency
/// unit of nominal. Only verified, unfrozen wallets can hold it.
contract BondToken is PermissionedToken {
    /// @notice The ISIN is not 12 upper-case ASCII letters or digits.
    error BondTokenInvalidIsin(string isin);

    string private _isin;
    uint256 private immutable _couponRate;
    uint64 private immutable _maturity;
    address private immutable _issuer;

    /// @notice Deploys a bond token and grants every role to `admin`.
    /// @param name_ ERC-20 name.
    /// @param symbol_ ERC-20 symbol.
    /// @param isin_ The security's ISIN (ISO 6166), 12 upper-case letters or digits.
    /// @param decimals_ ERC-20 decimals.
    /// @param couponRate_ Annual coupon rate, 18 decimals (2.5% = 0.025e18).
    /// @param maturity_ Unix time of the bond's final maturity.
    /// @param issuer_ The legal issuer of the security (informational; minting needs `ISSUER_ROLE`).
    /// @param registry_ The identity registry.
    /// @param admin Receives every role.
    constructor(
        string memory name_,
        string memory symbol_,
        string memory isin_,
        uint8 decimals_,
        uint256 couponRate_,
        uint64 maturity_,
        address issuer_,
        IIdentityRegistry registry_,
        address admin
    ) PermissionedToken(name_, symbol_, decimals_, registry_, admin) {
        if (!_isIsinShaped(bytes(isin_))) revert BondTokenInvalidIsin(isin_);
        if (issuer_ == address(0)) revert TokenZeroAddress();
        _isin = isin_;
        _couponRate = couponRate_;
        _maturity = maturity_;
        _issuer = issuer_;
    }

    /// @notice The security's ISIN.
    /// @return The ISIN.
    function isin() external view returns (string memory) {
        return _isin;
    }

    /// @notice The annual coupon rate, 18 decimals (2.5% = 0.025e18).
    /// @return The coupon rate.
    function couponRate() external view returns (uint256) {
        return _couponRate;
    }

    /// @notice The bond's final maturity.
    /// @return Unix time.
    function maturity() external view returns (uint64) {
        return _maturity;
    }

    /// @notice The legal issuer of the security.
    /// @return The issuer's address.
    function issuer() external view returns (address) {
        return _issuer;
    }

    /// @dev Shape only (12 upper-case letters or digits); the check digit is the operator's business.
    function _isIsinShaped(bytes memory code) private pure returns (bool) {
        if (code.length != 12) return false;
        for (uint256 i = 0; i < 12; ++i) {
            bytes1 c = code[i];
            if (!((c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5A))) return false;
        }
        return true;
    }
}
