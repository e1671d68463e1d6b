// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

/// @title IFxOracle
/// @notice Currencies and cross-currency valuation on the price oracle. Every cash token is listed as its own
/// currency; every other asset may name the cash token its price is quoted in (its currency). An FX pair is an
/// ordinary price of one listed cash token in another, so it has the same maximum age, maximum move and
/// second-feeder confirmation as any price.
/// @dev Cross-currency value of `amount` of `asset` (currency C) in `quote` (currency Q ≠ C), with p the price of the
/// asset in C and x the price of C in Q (both 18 decimals, smallest units to smallest units):
/// `value = floor(floor(amount × p / 1e18) × x / 1e18)` (the asset valued in C, then converted; both rounded down).
/// For a cash token used as collateral (C = asset), `floor(amount × p / 1e18)` is `amount`.
interface IFxOracle {
    /// @notice `token`'s currency was set (`currency == token`: a listed cash token; 0: unlisted / none).
    event CurrencySet(address indexed token, address indexed currency);

    /// @notice The FX haircut for collateral in `currency` against cash in `quote` was set.
    event FxHaircutSet(address indexed currency, address indexed quote, uint16 haircutBps);

    /// @notice An FX haircut of 100 % or more.
    error PriceInvalidFxHaircut(uint16 haircutBps);

    /// @notice A price above 2^160 − 1 (prices are stored in 160 bits beside their time and maximum age).
    error PriceTooLarge(address asset, address quote, uint256 price);

    /// @notice The currency is not a listed cash token.
    error PriceCurrencyNotListed(address currency);

    /// @notice Lists a cash token (`currency == token`), names an asset's currency (a listed cash token), or clears
    /// it (`currency == 0`). Requirements: `DEFAULT_ADMIN_ROLE`; `token` nonzero. Emits `CurrencySet`.
    function setCurrency(address token, address currency) external;

    /// @notice Sets the FX haircut (bps) taken from collateral in `currency` valued in `quote` (new repos and
    /// substitutions only: a repo fixes it when it opens). Requirements: `DEFAULT_ADMIN_ROLE`; both listed cash
    /// tokens; `haircutBps < 10000`. Emits `FxHaircutSet`.
    function setFxHaircut(address currency, address quote, uint16 haircutBps) external;

    /// @notice For a repo in `quote` against `asset`: whether `quote` is a listed cash token, whether `asset` is valued
    /// through an FX pair ({isCrossCurrency}), and then the pair's FX haircut (else 0).
    function fxTermsOf(address asset, address quote)
        external
        view
        returns (bool quoteListed, bool crossCurrency, uint16 fxHaircutBps);

    /// @notice The cash token `token` is quoted in; `token` itself for a listed cash token; 0 if none.
    function currencyOf(address token) external view returns (address);

    /// @notice Whether `asset` is valued in `quote` through an FX pair: its currency is set and is not `quote`.
    function isCrossCurrency(address asset, address quote) external view returns (bool);

    /// @notice The value of `amount` of `asset` in `quote` smallest units: through the asset's currency and the FX
    /// pair (currency, quote) when {isCrossCurrency}, else as `valueOf`. Rounded down.
    function valueIn(address asset, address quote, uint256 amount) external view returns (uint256);

    /// @notice Units of `asset` whose {valueIn} `quote` is at least `value`: the inverse of {valueIn}, each step rounded
    /// up (`ceil(ceil(value × 1e18 / x) × 1e18 / p)` across currencies), so never short of `value`.
    function unitsFor(address asset, address quote, uint256 value) external view returns (uint256);
}
