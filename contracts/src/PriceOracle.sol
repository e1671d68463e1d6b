// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";
import {IFxOracle} from "./interfaces/IFxOracle.sol";
import {IPriceOracle} from "./interfaces/IPriceOracle.sol";

/// @title PriceOracle
/// @notice Prices of securities in cash tokens, posted by feeders, each with a maximum age. A price converts
/// smallest units to smallest units with 18 decimals: `value = amount * price / 1e18`, rounded down.
/// See {IPriceOracle}.
contract PriceOracle is IPriceOracle, AccessControl {
    /// @notice Posts prices.
    bytes32 public constant FEEDER_ROLE = keccak256("FEEDER_ROLE");
    /// @notice Confirms a move larger than its pair's limit, proposed by someone else.
    bytes32 public constant CONFIRMER_ROLE = keccak256("CONFIRMER_ROLE");

    /// @inheritdoc IPriceOracle
    uint8 public constant PRICE_DECIMALS = 18;

    uint256 private constant _PRICE_SCALE = 10 ** PRICE_DECIMALS;

    /// @dev One slot with the pair's own maximum age: a valuation reads one cold slot, not three. A price fits 160
    /// bits (checked when posted), a time 40 bits, a maximum age 56 bits (checked when set; 0: the default).
    struct PricePoint {
        uint160 price;
        uint40 updatedAt;
        uint56 maxAge;
    }

    struct MoveLimit {
        uint16 maxMoveBps;
        uint64 confirmWindow;
    }

    uint256 private constant _BPS = 10_000;

    uint64 private immutable _defaultMaxAge;
    mapping(address asset => mapping(address quote => MoveLimit)) private _moveLimits;
    mapping(address asset => mapping(address quote => PendingMove)) private _pending;
    mapping(address asset => mapping(address quote => PricePoint)) private _prices;
    mapping(address token => address currency) private _currencies;
    mapping(address currency => mapping(address quote => uint16 bps)) private _fxHaircuts;

    /// @notice Deploys the oracle, grants `DEFAULT_ADMIN_ROLE`, `FEEDER_ROLE` and `CONFIRMER_ROLE` to `admin` (who
    /// still cannot confirm its own proposals).
    /// @param admin The initial admin and feeder.
    /// @param defaultMaxAge_ Maximum age in seconds for pairs without their own (must be positive).
    constructor(address admin, uint64 defaultMaxAge_) {
        if (admin == address(0)) revert PriceZeroAddress();
        if (defaultMaxAge_ == 0) revert PriceInvalidMaxAge();
        _defaultMaxAge = defaultMaxAge_;
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
        _grantRole(FEEDER_ROLE, admin);
        _grantRole(CONFIRMER_ROLE, admin);
    }

    /// @inheritdoc IPriceOracle
    function setPrice(address asset, address quote, uint256 price) external onlyRole(FEEDER_ROLE) {
        if (asset == address(0) || quote == address(0)) revert PriceZeroAddress();
        if (price == 0) revert PriceZero(asset, quote);
        if (price > type(uint160).max) revert PriceTooLarge(asset, quote, price);
        uint16 maxMoveBps = _moveLimits[asset][quote].maxMoveBps;
        if (maxMoveBps > 0 && _movesTooFar(_prices[asset][quote].price, price, maxMoveBps)) {
            _pending[asset][quote] =
                PendingMove({price: price, proposer: msg.sender, proposedAt: uint64(block.timestamp)});
            emit PriceMoveProposed(asset, quote, price, msg.sender);
            return;
        }
        _apply(asset, quote, price);
    }

    /// @inheritdoc IPriceOracle
    function confirmPrice(address asset, address quote, uint256 price) external onlyRole(CONFIRMER_ROLE) {
        PendingMove memory p = _pending[asset][quote];
        if (p.price != price || price < 1) revert PriceNoPendingMove(asset, quote, price);
        if (p.proposer == msg.sender) revert PriceSameFeeder(msg.sender);
        uint64 window = _moveLimits[asset][quote].confirmWindow;
        // forge-lint: disable-next-line(block-timestamp)
        if (block.timestamp > uint256(p.proposedAt) + window) {
            revert PriceConfirmationExpired(asset, quote, p.proposedAt, window);
        }
        delete _pending[asset][quote];
        emit PriceMoveConfirmed(asset, quote, price, msg.sender);
        _apply(asset, quote, price);
    }

    /// @inheritdoc IPriceOracle
    function setMaxMove(address asset, address quote, uint16 maxMoveBps, uint64 confirmWindow)
        external
        onlyRole(DEFAULT_ADMIN_ROLE)
    {
        if (asset == address(0) || quote == address(0)) revert PriceZeroAddress();
        if (maxMoveBps > 0 && confirmWindow < 1) revert PriceInvalidMoveLimit();
        _moveLimits[asset][quote] = MoveLimit({maxMoveBps: maxMoveBps, confirmWindow: confirmWindow});
        emit MaxMoveSet(asset, quote, maxMoveBps, confirmWindow);
    }

    /// @inheritdoc IPriceOracle
    function maxMoveOf(address asset, address quote) external view returns (uint16, uint64) {
        MoveLimit memory l = _moveLimits[asset][quote];
        return (l.maxMoveBps, l.confirmWindow);
    }

    /// @inheritdoc IPriceOracle
    function pendingMoveOf(address asset, address quote) external view returns (PendingMove memory) {
        return _pending[asset][quote];
    }

    /// @inheritdoc IPriceOracle
    function setMaxAge(address asset, address quote, uint64 maxAge) external onlyRole(DEFAULT_ADMIN_ROLE) {
        if (asset == address(0) || quote == address(0)) revert PriceZeroAddress();
        if (maxAge > type(uint56).max) revert PriceInvalidMaxAge();
        // Fits: checked above.
        _prices[asset][quote].maxAge = uint56(maxAge);
        emit MaxAgeSet(asset, quote, maxAge);
    }

    /// @inheritdoc IPriceOracle
    function getPrice(address asset, address quote) public view returns (uint256 price, uint64 updatedAt) {
        PricePoint storage point = _prices[asset][quote];
        price = point.price;
        updatedAt = point.updatedAt;
        if (price == 0) revert PriceMissing(asset, quote);
        uint64 maxAge = point.maxAge;
        if (maxAge == 0) maxAge = _defaultMaxAge;
        // updatedAt <= block.timestamp always: it was block.timestamp when posted.
        // forge-lint: disable-next-line(block-timestamp)
        if (block.timestamp - updatedAt > maxAge) revert PriceStale(asset, quote, updatedAt, maxAge);
    }

    /// @inheritdoc IPriceOracle
    function valueOf(address asset, address quote, uint256 amount) public view returns (uint256) {
        (uint256 price,) = getPrice(asset, quote);
        return Math.mulDiv(amount, price, _PRICE_SCALE);
    }

    /// @inheritdoc IFxOracle
    function setCurrency(address token, address currency) external onlyRole(DEFAULT_ADMIN_ROLE) {
        if (token == address(0)) revert PriceZeroAddress();
        if (currency != address(0) && currency != token && _currencies[currency] != currency) {
            revert PriceCurrencyNotListed(currency);
        }
        _currencies[token] = currency;
        emit CurrencySet(token, currency);
    }

    /// @inheritdoc IFxOracle
    function setFxHaircut(address currency, address quote, uint16 haircutBps) external onlyRole(DEFAULT_ADMIN_ROLE) {
        if (_currencies[currency] != currency || currency == address(0)) revert PriceCurrencyNotListed(currency);
        if (_currencies[quote] != quote || quote == address(0)) revert PriceCurrencyNotListed(quote);
        if (haircutBps >= _BPS) revert PriceInvalidFxHaircut(haircutBps);
        _fxHaircuts[currency][quote] = haircutBps;
        emit FxHaircutSet(currency, quote, haircutBps);
    }

    /// @inheritdoc IFxOracle
    function fxTermsOf(address asset, address quote)
        external
        view
        returns (bool quoteListed, bool crossCurrency, uint16 fxHaircutBps)
    {
        address currency = _currencies[asset];
        // An asset's currency was listed when it was named: one read when the asset is in the quote's currency.
        if (currency == quote && quote != address(0)) return (true, false, 0);
        quoteListed = quote != address(0) && _currencies[quote] == quote;
        crossCurrency = currency != address(0);
        if (crossCurrency) fxHaircutBps = _fxHaircuts[currency][quote];
    }

    /// @inheritdoc IFxOracle
    function currencyOf(address token) external view returns (address) {
        return _currencies[token];
    }

    /// @inheritdoc IFxOracle
    function isCrossCurrency(address asset, address quote) public view returns (bool) {
        address currency = _currencies[asset];
        return currency != address(0) && currency != quote;
    }

    /// @inheritdoc IFxOracle
    function valueIn(address asset, address quote, uint256 amount) external view returns (uint256) {
        address currency = _currencies[asset];
        if (currency == address(0) || currency == quote) return valueOf(asset, quote, amount);
        uint256 local = currency == asset ? amount : valueOf(asset, currency, amount);
        return valueOf(currency, quote, local);
    }

    /// @inheritdoc IFxOracle
    function unitsFor(address asset, address quote, uint256 value) external view returns (uint256) {
        address currency = _currencies[asset];
        if (currency == address(0) || currency == quote) return _ceilUnits(asset, quote, value);
        uint256 local = _ceilUnits(currency, quote, value);
        return currency == asset ? local : _ceilUnits(asset, currency, local);
    }

    /// @inheritdoc IPriceOracle
    function maxAgeOf(address asset, address quote) public view returns (uint64) {
        uint64 maxAge = _prices[asset][quote].maxAge;
        return maxAge == 0 ? _defaultMaxAge : maxAge;
    }

    /// @inheritdoc IPriceOracle
    function defaultMaxAge() external view returns (uint64) {
        return _defaultMaxAge;
    }

    /// @dev `ceil(value × 1e18 / price)`: the fewest units of `asset` worth at least `value` of `quote`.
    function _ceilUnits(address asset, address quote, uint256 value) private view returns (uint256) {
        (uint256 price,) = getPrice(asset, quote);
        return Math.mulDiv(value, _PRICE_SCALE, price, Math.Rounding.Ceil);
    }

    function _apply(address asset, address quote, uint256 price) private {
        uint64 timestamp = uint64(block.timestamp);
        PricePoint storage point = _prices[asset][quote];
        // The whole word, keeping the pair's maximum age. Fits: setPrice bounded the price (confirmPrice applies
        // only a price setPrice proposed); now < 2^40.
        _prices[asset][quote] = PricePoint({price: uint160(price), updatedAt: uint40(timestamp), maxAge: point.maxAge});
        emit PriceUpdated(asset, quote, price, timestamp);
    }

    /// @dev Whether `price` differs from `current` by more than `maxMoveBps` of `current`. The first price of a
    /// pair (no current one) is never a move.
    function _movesTooFar(uint256 current, uint256 price, uint16 maxMoveBps) private pure returns (bool) {
        if (current < 1) return false;
        uint256 diff = price > current ? price - current : current - price;
        // ceil(x) > m exactly when x > m, for an integer m: the limit itself is allowed.
        return Math.mulDiv(diff, _BPS, current, Math.Rounding.Ceil) > maxMoveBps;
    }
}
