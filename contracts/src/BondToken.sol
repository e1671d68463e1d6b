// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {IERC20Metadata} from "@openzeppelin/contracts/token/ERC20/extensions/IERC20Metadata.sol";
import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";

import {IBondCoupons} from "./interfaces/IBondCoupons.sol";
import {IIdentityRegistry} from "./interfaces/IIdentityRegistry.sol";
import {PermissionedToken} from "./PermissionedToken.sol";

/// @title BondToken
/// @notice One tokenized security (one ISIN). One token unit (`10 ** decimals()` smallest units) is one currency
/// unit of nominal. Only verified, unfrozen wallets can hold it. Carries its coupon schedule ({IBondCoupons}).
contract BondToken is PermissionedToken, IBondCoupons {
    /// @notice The ISIN is not 12 upper-case ASCII letters or digits.
    error BondTokenInvalidIsin(string isin);

    string private _isin;
    uint256 private immutable _couponRate;
    uint64 private immutable _maturity;
    address private immutable _issuer;

    /// @dev One coupon's dates, packed in one slot.
    struct CouponDates {
        uint64 recordDate;
        uint64 paymentDate;
    }

    CouponDates[] private _coupons;
    address private _couponToken;
    uint8 private _periodsPerYear;

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

    /// @inheritdoc IBondCoupons
    function setCouponSchedule(
        address couponToken_,
        uint8 periodsPerYear,
        uint64[] calldata recordDates,
        uint64[] calldata paymentDates
    ) external onlyRole(ISSUER_ROLE) {
        uint256 n = recordDates.length;
        if (
            _couponToken != address(0) || couponToken_ == address(0) || n == 0 || n != paymentDates.length
                || n > type(uint16).max
        ) {
            revert BondInvalidCouponSchedule();
        }
        if (periodsPerYear != 1 && periodsPerYear != 2 && periodsPerYear != 4 && periodsPerYear != 12) {
            revert BondInvalidCouponSchedule();
        }
        uint64 previousPayment = 0;
        for (uint256 i = 0; i < n; ++i) {
            if (recordDates[i] <= previousPayment || paymentDates[i] < recordDates[i]) {
                revert BondInvalidCouponSchedule();
            }
            previousPayment = paymentDates[i];
            _coupons.push(CouponDates(recordDates[i], previousPayment));
        }
        if (previousPayment > _maturity) revert BondInvalidCouponSchedule();
        // Fits: n <= 2^16 - 1 (checked above).
        _couponCount = uint16(n);
        _lastRecordDate = recordDates[n - 1];
        _couponToken = couponToken_;
        _periodsPerYear = periodsPerYear;
        emit CouponScheduleSet(couponToken_, periodsPerYear, n);
    }

    /// @inheritdoc IBondCoupons
    function nextCoupon(uint64 heldSince, uint256 from)
        external
        view
        returns (uint256 index, uint64 recordDate, uint64 paymentDate)
    {
        // No schedule, every coupon already passed, or none recorded since heldSince: one read, of the slot the
        // next transfer of this token reads anyway (see PermissionedToken._couponCount).
        uint256 count = _couponCount;
        if (from >= count || heldSince > _lastRecordDate) return (count, 0, 0);
        // Binary search for the first record date >= heldSince (record dates strictly increase).
        uint256 lo = 0;
        uint256 hi = _coupons.length;
        while (lo < hi) {
            uint256 mid = (lo + hi) / 2;
            if (_coupons[mid].recordDate < heldSince) lo = mid + 1;
            else hi = mid;
        }
        index = Math.max(lo, from);
        if (index < _coupons.length) {
            CouponDates storage c = _coupons[index];
            return (index, c.recordDate, c.paymentDate);
        }
        return (_coupons.length, 0, 0);
    }

    /// @inheritdoc IBondCoupons
    function couponDates(uint256 index) external view returns (uint64 recordDate, uint64 paymentDate) {
        if (index >= _coupons.length) revert BondUnknownCoupon(index);
        CouponDates storage c = _coupons[index];
        return (c.recordDate, c.paymentDate);
    }

    /// @inheritdoc IBondCoupons
    function couponAmount(uint256 units) external view returns (uint256) {
        address token = _couponToken;
        if (token == address(0)) return 0;
        // units × rate / periods, converted from bond units (10^decimals = 1 of nominal) to cash-token units.
        return Math.mulDiv(
            units,
            _couponRate * 10 ** IERC20Metadata(token).decimals(),
            uint256(_periodsPerYear) * 1e18 * 10 ** decimals()
        );
    }

    /// @inheritdoc IBondCoupons
    function couponToken() external view returns (address) {
        return _couponToken;
    }

    /// @inheritdoc IBondCoupons
    function couponCount() external view returns (uint256) {
        return _coupons.length;
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
