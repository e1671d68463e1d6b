// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";
import {IPriceOracle} from "./interfaces/IPriceOracle.sol";

/// @title PriceOracle
/// @notice Prices of securities in cash tokens, posted by feeders, each with a maximum age. A price converts
/// smallest units to smallest units with 18 decimals: `value = amount * price / 1e18`, rounded down.
/// See {IPriceOracle}.
contract PriceOracle is IPriceOracle, AccessControl {
    /// @notice Posts prices.
    bytes32 public constant FEEDER_ROLE = keccak256("FEEDER_ROLE");

    /// @inheritdoc IPriceOracle
    uint8 public constant PRICE_DECIMALS = 18;

    uint256 private constant _PRICE_SCALE = 10 ** PRICE_DECIMALS;

    struct PricePoint {
        uint256 price;
        uint64 updatedAt;
    }

    uint64 private immutable _defaultMaxAge;
    mapping(address asset => mapping(address quote => PricePoint)) private _prices;
    mapping(address asset => mapping(address quote => uint64 maxAge)) private _maxAges;

    /// @notice Deploys the oracle, grants `DEFAULT_ADMIN_ROLE` and `FEEDER_ROLE` to `admin`.
    /// @param admin The initial admin and feeder.
    /// @param defaultMaxAge_ Maximum age in seconds for pairs without their own (must be positive).
    constructor(address admin, uint64 defaultMaxAge_) {
        if (admin == address(0)) revert PriceZeroAddress();
        if (defaultMaxAge_ == 0) revert PriceInvalidMaxAge();
        _defaultMaxAge = defaultMaxAge_;
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
        _grantRole(FEEDER_ROLE, admin);
    }

    /// @inheritdoc IPriceOracle
    function setPrice(address asset, address quote, uint256 price) external onlyRole(FEEDER_ROLE) {
        if (asset == address(0) || quote == address(0)) revert PriceZeroAddress();
        if (price == 0) revert PriceZero(asset, quote);
        uint64 timestamp = uint64(block.timestamp);
        _prices[asset][quote] = PricePoint({price: price, updatedAt: timestamp});
        emit PriceUpdated(asset, quote, price, timestamp);
    }

    /// @inheritdoc IPriceOracle
    function setMaxAge(address asset, address quote, uint64 maxAge) external onlyRole(DEFAULT_ADMIN_ROLE) {
        if (asset == address(0) || quote == address(0)) revert PriceZeroAddress();
        _maxAges[asset][quote] = maxAge;
        emit MaxAgeSet(asset, quote, maxAge);
    }

    /// @inheritdoc IPriceOracle
    function getPrice(address asset, address quote) public view returns (uint256 price, uint64 updatedAt) {
        PricePoint storage point = _prices[asset][quote];
        price = point.price;
        updatedAt = point.updatedAt;
        if (price == 0) revert PriceMissing(asset, quote);
        uint64 maxAge = maxAgeOf(asset, quote);
        // updatedAt <= block.timestamp always: it was block.timestamp when posted.
        // forge-lint: disable-next-line(block-timestamp)
        if (block.timestamp - updatedAt > maxAge) revert PriceStale(asset, quote, updatedAt, maxAge);
    }

    /// @inheritdoc IPriceOracle
    function valueOf(address asset, address quote, uint256 amount) external view returns (uint256) {
        (uint256 price,) = getPrice(asset, quote);
        return Math.mulDiv(amount, price, _PRICE_SCALE);
    }

    /// @inheritdoc IPriceOracle
    function maxAgeOf(address asset, address quote) public view returns (uint64) {
        uint64 maxAge = _maxAges[asset][quote];
        return maxAge == 0 ? _defaultMaxAge : maxAge;
    }

    /// @inheritdoc IPriceOracle
    function defaultMaxAge() external view returns (uint64) {
        return _defaultMaxAge;
    }
}
