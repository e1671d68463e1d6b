// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {IAccessControl} from "@openzeppelin/contracts/access/IAccessControl.sol";
import {BondToken} from "../src/BondToken.sol";
import {CashToken} from "../src/CashToken.sol";
import {IFxOracle} from "../src/interfaces/IFxOracle.sol";
import {IRepoEngine} from "../src/interfaces/IRepoEngine.sol";
import {IRepoFx} from "../src/interfaces/IRepoFx.sol";
import {RepoFixture} from "./utils/RepoFixture.sol";

/// @notice Many currencies: a EUR repo against a USD Treasury (priced in USD, converted at the oracle's USD/EUR
/// pair, FX haircut on top of the agreed one), a USD cash token as collateral, substitution across currencies, the
/// FX pair's guard rails, close-out through the FX pair, and the listing controls.
/// @dev Default cross trade: EUR 1,000,000.00 against 1,200,000 UST units (1 USD nominal each, 0 decimals) at 99
/// cents, USD/EUR 0.92, haircut 2 % + FX haircut 6 %: USD 1,188,000.00 → EUR 1,092,960.00 → adjusted 1,005,523.20.
contract RepoEngineFxTest is RepoFixture {
    uint256 internal constant UST_PRICE = 99e18; // cents of USD per UST unit, 18 decimals
    uint256 internal constant USD_EUR = 0.92e18; // EUR cents per USD cent
    uint16 internal constant FX_HAIRCUT = 600;
    uint256 internal constant UST_COLLATERAL = 1_200_000;

    CashToken internal usd;
    CashToken internal gbp;
    BondToken internal ust;

    function setUp() public override {
        super.setUp();
        usd = new CashToken("Dollar Deposit Token", "USDD", "USD", 2, registry, admin);
        gbp = new CashToken("Sterling Deposit Token", "GBPD", "GBP", 2, registry, admin);
        ust = new BondToken(
            "UST 4% 2034", "T34", "US91282CJZ59", 0, 0.04e18, T0 + 8 * 365 days, bondIssuer, registry, admin
        );
        address[] memory listed = new address[](3);
        (listed[0], listed[1], listed[2]) = (address(usd), address(gbp), address(ust));
        _listTokens(address(engine), listed);
        vm.startPrank(admin);
        oracle.setCurrency(address(usd), address(usd));
        oracle.setCurrency(address(gbp), address(gbp));
        oracle.setCurrency(address(ust), address(usd));
        oracle.setFxHaircut(address(usd), address(cash), FX_HAIRCUT);
        ust.mint(seller, 10_000_000);
        usd.mint(seller, 100_000_000_00);
        vm.stopPrank();
        vm.startPrank(seller);
        ust.approve(address(engine), type(uint256).max);
        usd.approve(address(engine), type(uint256).max);
        vm.stopPrank();
        _postFx(UST_PRICE, USD_EUR);
    }

    function _postFx(uint256 ustPrice, uint256 usdEur) internal {
        _refreshPrices();
        _setPrice(address(ust), address(usd), ustPrice);
        _setPrice(address(usd), address(cash), usdEur);
    }

    function _crossTerms(uint64 maturity) internal returns (IRepoEngine.RepoTerms memory t) {
        t = _terms(maturity);
        t.collateralToken = address(ust);
        t.collateralAmount = UST_COLLATERAL;
    }

    /// @dev The reference: value in the collateral's currency, converted, then both haircuts, each rounded down.
    function _refCross(uint256 amount, uint256 p, uint256 x, uint256 h, uint256 f) internal pure returns (uint256) {
        return ((amount * p / 1e18) * x / 1e18) * (10_000 - h - f) / 10_000;
    }

    // ------------------------------------------------------------------ open and valuation

    /// @dev Slot 0 packs the cross-currency flag (bit 240) and the coupon election (bit 248) after the 32-bit notice
    /// period: each reads back after the other is written.
    function test_couponElection_keepsFxTermsAndNoticePeriod() public {
        IRepoEngine.RepoTerms memory t = _crossTerms(0);
        t.noticePeriod = type(uint32).max;
        uint256 repoId = _open(t);
        IRepoEngine.Amendment memory a =
            _amendment(repoId, uint8(IRepoEngine.AmendmentKind.COUPON_ELECTION), 0, int256(1));
        engine.amend(a, _signAmendment(sellerKey, a), _signAmendment(buyerKey, a));
        (bool cross, uint16 fx) = engine.fxTermsOf(repoId);
        assertTrue(cross);
        assertEq(fx, FX_HAIRCUT);
        (,,,, bool toRP) = engine.couponOwed(repoId);
        assertTrue(toRP);
        assertEq(uint256(engine.getRepo(repoId).noticePeriod), type(uint32).max);
        assertEq(engine.getRepo(repoId).haircutBps, HAIRCUT);
    }


    function test_open_crossCurrencyFixesFxTerms() public {
        uint256 repoId = _open(_crossTerms(uint64(block.timestamp) + TERM));
        (bool cross, uint16 fx) = engine.fxTermsOf(repoId);
        assertTrue(cross);
        assertEq(fx, FX_HAIRCUT);
        assertEq(engine.collateralValue(repoId), 100_552_320);
        assertEq(engine.collateralValue(repoId), _refCross(UST_COLLATERAL, UST_PRICE, USD_EUR, HAIRCUT, FX_HAIRCUT));
        assertEq(engine.exposure(repoId), int256(PP) - 100_552_320);
        assertEq(ust.balanceOf(address(engine)), UST_COLLATERAL);
    }

    function test_open_sameCurrencyHasNoFxTerms() public {
        uint256 repoId = _openTermRepo();
        (bool cross, uint16 fx) = engine.fxTermsOf(repoId);
        assertFalse(cross);
        assertEq(fx, 0);
        assertEq(engine.collateralValue(repoId), 101_356_500);
    }

    function test_open_laterFxHaircutChangeDoesNotReachLiveRepo() public {
        uint256 repoId = _open(_crossTerms(0));
        vm.prank(admin);
        oracle.setFxHaircut(address(usd), address(cash), 2_000);
        (, uint16 fx) = engine.fxTermsOf(repoId);
        assertEq(fx, FX_HAIRCUT);
    }

    function test_open_inAnyListedCashToken() public {
        // A GBP repo against the EUR Bund: the Bund is named EUR-priced, GBP listed, EUR/GBP posted.
        vm.startPrank(admin);
        oracle.setCurrency(address(bond), address(cash));
        gbp.mint(buyer, 10_000_000_00);
        vm.stopPrank();
        vm.prank(buyer);
        gbp.approve(address(engine), type(uint256).max);
        _setPrice(address(cash), address(gbp), 0.86e18);
        IRepoEngine.RepoTerms memory t = _terms(0);
        t.cashToken = address(gbp);
        t.purchasePrice = 800_000_00;
        uint256 repoId = _open(t);
        (bool cross, uint16 fx) = engine.fxTermsOf(repoId);
        assertTrue(cross);
        assertEq(fx, 0); // no FX haircut set for EUR→GBP
        assertEq(engine.collateralValue(repoId), _refCross(COLLATERAL, BOND_PRICE, 0.86e18, HAIRCUT, 0));
        assertEq(gbp.balanceOf(seller), 800_000_00);
    }

    function test_open_revertsIfCashTokenNotListed() public {
        vm.prank(admin);
        oracle.setCurrency(address(cash), address(0));
        IRepoEngine.RepoTerms memory t = _terms(0);
        bytes memory s1 = _signTerms(sellerKey, t);
        bytes memory s2 = _signTerms(buyerKey, t);
        vm.expectRevert(abi.encodeWithSelector(IRepoFx.RepoCashTokenNotListed.selector, address(cash)));
        engine.open(t, s1, s2);
    }

    function test_open_revertsIfBondUsedAsCash() public {
        IRepoEngine.RepoTerms memory t = _terms(0);
        t.cashToken = address(bond2);
        bytes memory s1 = _signTerms(sellerKey, t);
        bytes memory s2 = _signTerms(buyerKey, t);
        vm.expectRevert(abi.encodeWithSelector(IRepoFx.RepoCashTokenNotListed.selector, address(bond2)));
        engine.open(t, s1, s2);
    }

    function test_open_revertsIfHaircutsReachAll() public {
        vm.prank(admin);
        oracle.setFxHaircut(address(usd), address(cash), 9_800);
        IRepoEngine.RepoTerms memory t = _crossTerms(0);
        bytes memory s1 = _signTerms(sellerKey, t);
        bytes memory s2 = _signTerms(buyerKey, t);
        vm.expectRevert(abi.encodeWithSelector(IRepoEngine.RepoInvalidHaircut.selector, uint16(10_000)));
        engine.open(t, s1, s2);
    }

    function test_cashCollateralInOtherCurrency_isConvertedOnly() public {
        IRepoEngine.RepoTerms memory t = _terms(0);
        t.collateralToken = address(usd);
        t.collateralAmount = 120_000_000; // USD 1,200,000.00
        uint256 repoId = _open(t);
        // 120,000,000 × 0.92 = 110,400,000 EUR cents; × 0.92 (2 % + 6 %) = 101,568,000.
        assertEq(engine.collateralValue(repoId), 101_568_000);
    }

    // ------------------------------------------------------------------ margin through an FX move

    function test_fxMove_marginCallCureAndRepurchase() public {
        uint256 repoId = _open(_crossTerms(uint64(block.timestamp) + TERM));
        _postFx(UST_PRICE, 0.85e18); // EUR strengthens: the USD collateral is worth less in EUR
        uint256 adjusted = _refCross(UST_COLLATERAL, UST_PRICE, 0.85e18, HAIRCUT, FX_HAIRCUT);
        assertEq(adjusted, 92_901_600);
        int256 e = engine.exposure(repoId);
        assertEq(e, int256(PP + uint256(_refPD(PP, RATE, 360, 0))) - int256(adjusted));
        engine.callMargin(repoId);
        uint256 outstanding = engine.getRepo(repoId).marginCallOutstanding;
        assertEq(outstanding, uint256(e));

        // Cure with more Treasuries: enough units that their adjusted EUR value covers the call.
        uint256 perUnit = 99 * 85 * 92; // cents × 1e4: 99 USD cents × 0.85 × 0.92
        uint256 units = outstanding * 10_000 / perUnit + 1;
        vm.prank(seller);
        engine.postMargin(repoId, units, 0);
        assertEq(uint8(engine.getRepo(repoId).status), uint8(IRepoEngine.RepoStatus.OPEN));

        _skip(TERM);
        _postFx(UST_PRICE, 0.85e18);
        uint256 rp = engine.repurchasePrice(repoId, uint64(block.timestamp));
        uint256 buyerCash = cash.balanceOf(buyer);
        uint256 sellerUst = ust.balanceOf(seller);
        vm.prank(seller);
        engine.repurchase(repoId);
        assertEq(cash.balanceOf(buyer), buyerCash + rp);
        assertEq(ust.balanceOf(seller), sellerUst + UST_COLLATERAL + units);
        assertEq(ust.balanceOf(address(engine)), 0);
    }

    function test_withdrawExcess_usesFxValue() public {
        uint256 repoId = _open(_crossTerms(0));
        _postFx(UST_PRICE, 1.0e18); // USD strengthens: excess appears
        // adjusted = 118,800,000 × 0.92 = 109,296,000; E = 100,000,000 − 109,296,000.
        vm.prank(seller);
        engine.withdrawExcess(repoId, 90_000, 0);
        assertEq(engine.getRepo(repoId).collateralAmount, UST_COLLATERAL - 90_000);
        vm.prank(seller);
        vm.expectRevert();
        engine.withdrawExcess(repoId, 20_000, 0); // 110,000 × 0.99 × 0.92 > the 2,074,400 cents still in excess
    }

    function test_exposure_revertsIfFxPairStale() public {
        uint256 repoId = _open(_crossTerms(0));
        vm.warp(block.timestamp + ORACLE_MAX_AGE + 1);
        _refreshPrices();
        _setPrice(address(ust), address(usd), UST_PRICE);
        vm.expectRevert(); // the USD/EUR pair is stale
        engine.exposure(repoId);
    }

    // ------------------------------------------------------------------ substitution and close-out

    function test_substitute_acrossCurrenciesRefixesFxTerms() public {
        uint256 repoId = _open(_crossTerms(0));
        uint256 nonce = nextNonce++;
        uint64 deadline = uint64(block.timestamp + 1 hours);
        bytes memory sig = _signSubstitution(buyerKey, repoId, address(bond), COLLATERAL, nonce, deadline);
        vm.prank(seller);
        engine.substitute(repoId, address(bond), COLLATERAL, sig, nonce, deadline);
        (bool cross, uint16 fx) = engine.fxTermsOf(repoId);
        assertFalse(cross);
        assertEq(fx, 0);
        assertEq(engine.collateralValue(repoId), 101_356_500);

        nonce = nextNonce++;
        sig = _signSubstitution(buyerKey, repoId, address(ust), UST_COLLATERAL, nonce, deadline);
        vm.prank(seller);
        engine.substitute(repoId, address(ust), UST_COLLATERAL, sig, nonce, deadline);
        (cross, fx) = engine.fxTermsOf(repoId);
        assertTrue(cross);
        assertEq(fx, FX_HAIRCUT);
    }

    function test_substitute_revertsIfFxHaircutUndercollateralizes() public {
        uint256 repoId = _openOpenRepo();
        uint256 nonce = nextNonce++;
        uint64 deadline = uint64(block.timestamp + 1 hours);
        // 1,100,000 UST: unhaircut 100,188,000 EUR cents but adjusted 92,172,960 < RP.
        bytes memory sig = _signSubstitution(buyerKey, repoId, address(ust), 1_100_000, nonce, deadline);
        vm.prank(seller);
        vm.expectRevert(
            abi.encodeWithSelector(
                IRepoEngine.RepoSubstitutionUndercollateralized.selector, repoId, uint256(92_172_960), PP
            )
        );
        engine.substitute(repoId, address(ust), 1_100_000, sig, nonce, deadline);
    }

    function test_closeOut_convertsThroughFxPair() public {
        uint256 repoId = _open(_crossTerms(uint64(block.timestamp) + TERM));
        _skip(TERM + GRACE + 1);
        _postFx(UST_PRICE, USD_EUR);
        engine.declareDefault(repoId);
        uint256 owed = PP + uint256(_refPD(PP, RATE, 360, TERM));
        uint256 usdNeeded = (owed * 1e18 + USD_EUR - 1) / USD_EUR;
        uint256 units = (usdNeeded * 1e18 + UST_PRICE - 1) / UST_PRICE;
        vm.prank(buyer);
        engine.closeOut(repoId);
        assertEq(ust.balanceOf(buyer), units);
        assertGe(((units * UST_PRICE / 1e18) * USD_EUR) / 1e18, owed, "holder covered in EUR");
        assertEq(ust.balanceOf(address(engine)), 0);
        assertEq(engine.shortfallOf(repoId), 0);
    }

    function test_closeOut_shortfallInRepoCurrency() public {
        uint256 repoId = _open(_crossTerms(uint64(block.timestamp) + TERM));
        _skip(TERM + GRACE + 1);
        _postFx(UST_PRICE, 0.5e18);
        engine.declareDefault(repoId);
        uint256 owed = PP + uint256(_refPD(PP, RATE, 360, TERM));
        vm.prank(buyer);
        engine.closeOut(repoId);
        assertEq(ust.balanceOf(buyer), UST_COLLATERAL);
        assertEq(engine.shortfallOf(repoId), owed - (UST_COLLATERAL * UST_PRICE / 1e18) * 0.5e18 / 1e18);
    }

    // ------------------------------------------------------------------ FX pair guard rails and listing controls

    function test_fxPair_largeMoveNeedsSecondFeeder() public {
        uint256 repoId = _open(_crossTerms(0));
        address confirmer = makeAddr("confirmer");
        vm.startPrank(admin);
        oracle.setMaxMove(address(usd), address(cash), 500, 1 hours);
        oracle.grantRole(oracle.CONFIRMER_ROLE(), confirmer);
        oracle.setPrice(address(usd), address(cash), 0.8e18); // −13 %: only proposed
        vm.stopPrank();
        assertEq(engine.collateralValue(repoId), 100_552_320);
        vm.prank(confirmer);
        oracle.confirmPrice(address(usd), address(cash), 0.8e18);
        assertEq(engine.collateralValue(repoId), _refCross(UST_COLLATERAL, UST_PRICE, 0.8e18, HAIRCUT, FX_HAIRCUT));
    }

    function test_setCurrency_onlyAdmin() public {
        vm.expectRevert(
            abi.encodeWithSelector(
                IAccessControl.AccessControlUnauthorizedAccount.selector, outsider, oracle.DEFAULT_ADMIN_ROLE()
            )
        );
        vm.prank(outsider);
        oracle.setCurrency(address(bond2), address(bond2));
    }

    function test_setCurrency_revertsIfCurrencyNotListed() public {
        vm.prank(admin);
        vm.expectRevert(abi.encodeWithSelector(IFxOracle.PriceCurrencyNotListed.selector, address(bond2)));
        oracle.setCurrency(address(bond), address(bond2));
    }

    function test_setFxHaircut_onlyAdminListedAndBelowAll() public {
        vm.expectRevert(
            abi.encodeWithSelector(
                IAccessControl.AccessControlUnauthorizedAccount.selector, outsider, oracle.DEFAULT_ADMIN_ROLE()
            )
        );
        vm.prank(outsider);
        oracle.setFxHaircut(address(usd), address(cash), 100);
        vm.startPrank(admin);
        vm.expectRevert(abi.encodeWithSelector(IFxOracle.PriceCurrencyNotListed.selector, address(bond)));
        oracle.setFxHaircut(address(bond), address(cash), 100);
        vm.expectRevert(abi.encodeWithSelector(IFxOracle.PriceInvalidFxHaircut.selector, uint16(10_000)));
        oracle.setFxHaircut(address(usd), address(cash), 10_000);
        vm.stopPrank();
    }

    function test_setPrice_revertsAbove160Bits() public {
        uint256 tooLarge = uint256(type(uint160).max) + 1;
        vm.prank(admin);
        vm.expectRevert(abi.encodeWithSelector(IFxOracle.PriceTooLarge.selector, address(usd), address(cash), tooLarge));
        oracle.setPrice(address(usd), address(cash), tooLarge);
        _setPrice(address(usd), address(cash), type(uint160).max);
        (uint256 price,) = oracle.getPrice(address(usd), address(cash));
        assertEq(price, type(uint160).max);
    }

    // ------------------------------------------------------------------ fuzz

    function testFuzz_collateralValue_matchesReference(uint256 amount, uint256 p, uint256 x, uint16 h, uint16 f)
        public
    {
        amount = bound(amount, 1, 1e7);
        p = bound(p, 1e15, 1e21);
        x = bound(x, 1e15, 1e19);
        h = uint16(bound(h, 0, 4_999));
        f = uint16(bound(f, 0, 4_999));
        vm.prank(admin);
        oracle.setFxHaircut(address(usd), address(cash), f);
        _postFx(p, x);
        IRepoEngine.RepoTerms memory t = _crossTerms(0);
        t.collateralAmount = amount;
        t.haircutBps = h;
        uint256 repoId = _open(t);
        assertEq(engine.collateralValue(repoId), _refCross(amount, p, x, h, f));
    }

    function testFuzz_unitsFor_neverShort(uint256 value, uint256 p, uint256 x) public {
        value = bound(value, 1, 1e15);
        p = bound(p, 1e15, 1e21);
        x = bound(x, 1e15, 1e19);
        _postFx(p, x);
        uint256 units = oracle.unitsFor(address(ust), address(cash), value);
        assertGe(oracle.valueIn(address(ust), address(cash), units), value);
        assertEq(oracle.valueIn(address(ust), address(cash), units), (units * p / 1e18) * x / 1e18);
    }
}
