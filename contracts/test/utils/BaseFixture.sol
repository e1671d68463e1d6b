// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {AccountRules} from "../../src/AccountRules.sol";
import {BondToken} from "../../src/BondToken.sol";
import {CashToken} from "../../src/CashToken.sol";
import {IdentityRegistry} from "../../src/IdentityRegistry.sol";
import {IRepoMigration} from "../../src/interfaces/IRepoMigration.sol";
import {PriceOracle} from "../../src/PriceOracle.sol";
import {Test} from "./Test.sol";

/// @title BaseFixture
/// @notice Shared fixture for tests of RepoNet's contracts: deploys the identity registry, account rules, a EUR
/// cash token (2 decimals), a bond token (0 decimals: 1 unit = 1 EUR nominal) and the price oracle, all
/// administered by `admin`, at a realistic block time `T0`; and helpers to verify wallets, mint and post prices.
/// @dev Stable API: `setUp()` (virtual, calls `_deployBase()`), `_deployBase()`, `_verify(wallet)` →
/// identityId, `_verify(wallets)`, `_verifiedAccount(name)` → (wallet, privateKey), `_addSystemAccount`,
/// `_mintCash`, `_mintBond`, `_setPrice`, `_setBondPrice`, `_listTokens`.
abstract contract BaseFixture is Test {
    /// @dev 2026-01-01T00:00:00Z: the fixture's start time.
    uint64 internal constant T0 = 1_767_225_600;
    /// @dev KYC validity given by `_verify`.
    uint64 internal constant KYC_VALIDITY = 365 days;
    /// @dev The oracle's default maximum price age.
    uint64 internal constant ORACLE_MAX_AGE = 1 days;
    uint8 internal constant CASH_DECIMALS = 2;
    uint8 internal constant BOND_DECIMALS = 0;
    /// @dev 98.50% of par: one bond unit (1 EUR nominal) is worth 98.5 cents,
    /// i.e. price = 0.985 * 10**CASH_DECIMALS / 10**BOND_DECIMALS * 1e18.
    uint256 internal constant BOND_PRICE = 98.5e18;
    string internal constant BOND_ISIN = "DE0001102580";
    uint256 internal constant BOND_COUPON = 0.025e18;
    bytes2 internal constant JURISDICTION = "GB";
    uint8 internal constant INVESTOR_CLASS = 1;

    address internal admin;
    address internal bondIssuer;

    IdentityRegistry internal registry;
    AccountRules internal rules;
    CashToken internal cash;
    BondToken internal bond;
    PriceOracle internal oracle;

    uint256 private _leiNonce;

    /// @dev Deploys the base system. Override and call `super.setUp()` (or `_deployBase()`) to extend.
    function setUp() public virtual {
        _deployBase();
    }

    /// @dev Warps to `T0` and deploys registry, rules, cash token, bond token and oracle, all with `admin`
    /// holding every role.
    function _deployBase() internal {
        vm.warp(T0);
        admin = makeAddr("admin");
        bondIssuer = makeAddr("bondIssuer");
        registry = new IdentityRegistry(admin);
        rules = new AccountRules(registry, admin);
        cash = new CashToken("Euro Deposit Token", "EURD", "EUR", CASH_DECIMALS, registry, admin);
        bond = new BondToken(
            "Bund 2.5% 2035",
            "DBR35",
            BOND_ISIN,
            BOND_DECIMALS,
            BOND_COUPON,
            T0 + 10 * 365 days,
            bondIssuer,
            registry,
            admin
        );
        oracle = new PriceOracle(admin, ORACLE_MAX_AGE);
        vm.prank(admin);
        oracle.setCurrency(address(cash), address(cash)); // a listed cash token: repos may be opened in it
        vm.label(address(registry), "IdentityRegistry");
        vm.label(address(rules), "AccountRules");
        vm.label(address(cash), "CashToken");
        vm.label(address(bond), "BondToken");
        vm.label(address(oracle), "PriceOracle");
    }

    /// @dev Registers a fresh identity (unique LEI hash, "GB", class 1, KYC valid for a year) owning `wallet`.
    function _verify(address wallet) internal returns (uint256 identityId) {
        address[] memory wallets = new address[](1);
        wallets[0] = wallet;
        identityId = _verify(wallets);
    }

    /// @dev Registers one fresh identity owning all of `wallets`.
    function _verify(address[] memory wallets) internal returns (uint256 identityId) {
        vm.prank(admin);
        identityId = registry.registerIdentity(
            _nextLeiHash(), JURISDICTION, INVESTOR_CLASS, uint64(block.timestamp) + KYC_VALIDITY, wallets
        );
    }

    /// @dev A labelled wallet with its private key (for EIP-712 signatures), verified under a fresh identity.
    function _verifiedAccount(string memory name) internal returns (address wallet, uint256 privateKey) {
        (wallet, privateKey) = makeAddrAndKey(name);
        _verify(wallet);
    }

    /// @dev Makes `account` a registry system account (counts as verified), e.g. the repo engine's escrow.
    function _addSystemAccount(address account) internal {
        vm.prank(admin);
        registry.setSystemAccount(account, true);
    }

    /// @dev Mints `amount` smallest units of cash to `to` (which must be verified).
    function _mintCash(address to, uint256 amount) internal {
        vm.prank(admin);
        cash.mint(to, amount);
    }

    /// @dev Mints `amount` smallest units of the bond to `to` (which must be verified).
    function _mintBond(address to, uint256 amount) internal {
        vm.prank(admin);
        bond.mint(to, amount);
    }

    /// @dev Lists `tokens` in an engine's token table, as its admin must before a repo names them.
    function _listTokens(address engine_, address[] memory tokens) internal {
        vm.startPrank(admin);
        for (uint256 i; i < tokens.length; ++i) {
            IRepoMigration(engine_).listToken(tokens[i]);
        }
        vm.stopPrank();
    }

    /// @dev Lists one token in an engine's token table.
    function _listToken(address engine_, address token) internal {
        address[] memory one = new address[](1);
        one[0] = token;
        _listTokens(engine_, one);
    }

    /// @dev Posts `price` (18 decimals, smallest units to smallest units) for `asset` in `quote` now.
    function _setPrice(address asset, address quote, uint256 price) internal {
        vm.prank(admin);
        oracle.setPrice(asset, quote, price);
    }

    /// @dev Posts the bond's price in the cash token now.
    function _setBondPrice(uint256 price) internal {
        _setPrice(address(bond), address(cash), price);
    }

    /// @dev A new LEI hash each call, so identities never collide.
    function _nextLeiHash() internal returns (bytes32) {
        return keccak256(abi.encodePacked("LEI", ++_leiNonce));
    }
}
