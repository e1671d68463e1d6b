// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {CashToken} from "../src/CashToken.sol";
import {IRepoEngine} from "../src/interfaces/IRepoEngine.sol";
import {IRepoShortfalls} from "../src/interfaces/IRepoShortfalls.sol";
import {RepoShortfallLedger} from "../src/RepoShortfallLedger.sol";
import {CouponFixture} from "./utils/CouponFixture.sol";

/// @notice A close-out shortfall is the holder's claim on the seller: collected from the seller's next cash reaching
/// the engine in that token, oldest first, or settled off chain when both parties agree.
contract RepoEngineShortfallTest is CouponFixture {
    uint256 internal constant CRASH_PRICE = 80e18;

    RepoShortfallLedger internal ledger;

    function setUp() public override {
        super.setUp();
        ledger = engine.shortfallLedger();
    }

    function test_ledger_recordsAndCollectsOnlyForTheEngine() public {
        vm.expectRevert(abi.encodeWithSelector(RepoShortfallLedger.ShortfallLedgerNotEngine.selector, address(this)));
        ledger.record(1, buyer, seller, address(cash), 1);
        vm.expectRevert(abi.encodeWithSelector(RepoShortfallLedger.ShortfallLedgerNotEngine.selector, address(this)));
        ledger.collect(seller, address(cash), 1);
        assertEq(ledger.engine(), address(engine));
    }

    /// @dev A term repo defaulted and closed out at 80% of par: collateral worth 840,000.00 against ~1,002,916.67.
    function _shortfallRepo() internal returns (uint256 repoId, uint256 shortfall) {
        repoId = _open(_terms(T0 + 5 days));
        _at(T0 + 5 days + GRACE + 1);
        engine.declareDefault(repoId);
        _setBondPrice(CRASH_PRICE);
        vm.prank(buyer);
        engine.closeOut(repoId);
        shortfall = engine.shortfallOf(repoId);
    }

    /// @dev A second repo of the same seller with `margin` cash margin and no exposure: its excess can come back.
    function _repoWithCashMargin(uint256 margin) internal returns (uint256 repoId) {
        _refreshPrices();
        IRepoEngine.RepoTerms memory t = _terms(0);
        t.buyer = address(wallet);
        repoId = engine.open(t, _signTerms(sellerKey, t), _sign(walletOwnerKey, engine.hashTerms(t)));
        vm.prank(seller);
        engine.postMargin(repoId, 0, margin);
    }

    function test_closeOut_recordsShortfallWithCreditor() public {
        (uint256 repoId, uint256 shortfall) = _shortfallRepo();
        assertGt(shortfall, 0);
        IRepoShortfalls.Shortfall memory s = ledger.shortfall(repoId);
        assertEq(s.creditor, buyer);
        assertEq(s.seller, seller);
        assertEq(s.token, address(cash));
        assertEq(s.remaining, shortfall);
        assertEq(ledger.shortfallDebt(seller, address(cash)), shortfall);
    }

    function test_withdrawExcess_collectsShortfallFirst() public {
        (uint256 repoId, uint256 shortfall) = _shortfallRepo();
        uint256 other = _repoWithCashMargin(shortfall + 1_000_00);
        uint256 buyerCash = cash.balanceOf(buyer);
        uint256 sellerCash = cash.balanceOf(seller);
        vm.expectEmit(address(ledger));
        emit IRepoShortfalls.ShortfallCollected(repoId, buyer, shortfall, 0);
        vm.prank(seller);
        engine.withdrawExcess(other, 0, shortfall + 1_000_00);
        assertEq(cash.balanceOf(buyer), buyerCash + shortfall);
        assertEq(cash.balanceOf(seller), sellerCash + 1_000_00);
        assertEq(engine.shortfallOf(repoId), 0);
        assertEq(ledger.shortfallDebt(seller, address(cash)), 0);
    }

    function test_partialCollection_thenCouponCollectsTheRest() public {
        (uint256 repoId, uint256 shortfall) = _shortfallRepo();
        uint256 other = _repoWithCashMargin(100_000_00);
        vm.prank(seller);
        engine.withdrawExcess(other, 0, 100_000_00);
        assertEq(engine.shortfallOf(repoId), shortfall - 100_000_00);
        // The next coupon on the other repo's collateral is the seller's cash reaching the engine too.
        _at(PAY0);
        uint256 buyerCash = cash.balanceOf(buyer);
        _payCoupon(other, 0);
        assertEq(cash.balanceOf(buyer), buyerCash + COUPON);
        assertEq(engine.shortfallOf(repoId), shortfall - 100_000_00 - COUPON);
    }

    function test_couponOnClosedOutRepo_paysItsOwnShortfall() public {
        // Closed out between the record date and the payment date: the coupon is still owed, and goes to the lender
        // as long as the seller owes it.
        uint256 repoId = _open(_terms(RECORD0 - 3 days));
        _at(RECORD0 + 1);
        engine.declareDefault(repoId);
        _setBondPrice(CRASH_PRICE);
        vm.prank(buyer);
        engine.closeOut(repoId);
        uint256 shortfall = engine.shortfallOf(repoId);
        _at(PAY0);
        uint256 buyerCash = cash.balanceOf(buyer);
        uint256 sellerCash = cash.balanceOf(seller);
        _payCoupon(repoId, 0);
        assertEq(cash.balanceOf(buyer), buyerCash + COUPON);
        assertEq(cash.balanceOf(seller), sellerCash);
        assertEq(engine.shortfallOf(repoId), shortfall - COUPON);
    }

    function test_agreeShortfallSettled_needsBothParties() public {
        (uint256 repoId, uint256 shortfall) = _shortfallRepo();
        vm.prank(buyer);
        ledger.agreeShortfallSettled(repoId);
        assertEq(engine.shortfallOf(repoId), shortfall);
        vm.expectEmit(address(ledger));
        emit IRepoShortfalls.ShortfallSettled(repoId, shortfall);
        vm.prank(seller);
        ledger.agreeShortfallSettled(repoId);
        assertEq(engine.shortfallOf(repoId), 0);
        assertEq(ledger.shortfallDebt(seller, address(cash)), 0);
        // Nothing more is collected.
        uint256 other = _repoWithCashMargin(1_000_00);
        uint256 sellerCash = cash.balanceOf(seller);
        vm.prank(seller);
        engine.withdrawExcess(other, 0, 1_000_00);
        assertEq(cash.balanceOf(seller), sellerCash + 1_000_00);
    }

    function test_agreeShortfallSettled_revertsForOthers() public {
        (uint256 repoId,) = _shortfallRepo();
        vm.prank(carol);
        vm.expectRevert(abi.encodeWithSelector(IRepoShortfalls.RepoNotShortfallParty.selector, repoId, carol));
        ledger.agreeShortfallSettled(repoId);
    }

    function test_agreeShortfallSettled_revertsWithoutShortfall() public {
        uint256 repoId = _openTermRepo();
        vm.prank(seller);
        vm.expectRevert(abi.encodeWithSelector(IRepoShortfalls.RepoNoShortfall.selector, repoId));
        ledger.agreeShortfallSettled(repoId);
    }

    function test_collection_toFrozenCreditorBecomesClaim() public {
        (, uint256 shortfall) = _shortfallRepo();
        uint256 other = _repoWithCashMargin(shortfall);
        vm.prank(admin);
        cash.freeze(buyer);
        vm.prank(seller);
        engine.withdrawExcess(other, 0, shortfall);
        assertEq(engine.claimOf(buyer, address(cash)), shortfall);
        assertEq(cash.balanceOf(address(engine)), engine.totalClaims(address(cash)));
    }

    function testFuzz_collection_conservesAndNeverOverpays(uint256 margin) public {
        (uint256 repoId, uint256 shortfall) = _shortfallRepo();
        margin = bound(margin, 1, 3 * shortfall);
        uint256 other = _repoWithCashMargin(margin);
        uint256 buyerCash = cash.balanceOf(buyer);
        uint256 sellerCash = cash.balanceOf(seller);
        vm.prank(seller);
        engine.withdrawExcess(other, 0, margin);
        uint256 toBuyer = cash.balanceOf(buyer) - buyerCash;
        uint256 toSeller = cash.balanceOf(seller) - sellerCash;
        assertEq(toBuyer + toSeller, margin);
        assertEq(toBuyer, margin < shortfall ? margin : shortfall);
        assertEq(engine.shortfallOf(repoId), shortfall - toBuyer);
        assertEq(cash.balanceOf(address(engine)), 0);
    }

    // ------------------------------------------------------------------ abuse: a seller ducking its creditors

    /// @dev A term repo of the seller with `holder` (which must have the buyer's key) as its lender at close-out.
    function _closedOutBy(address holder) internal returns (uint256 repoId) {
        repoId = _open(_terms(uint64(block.timestamp) + 5 days));
        if (holder != buyer) {
            vm.prank(buyer);
            position.transferFrom(buyer, holder, repoId);
        }
        _at(uint64(block.timestamp) + 5 days + GRACE + 1);
        engine.declareDefault(repoId);
        _setBondPrice(CRASH_PRICE);
        vm.prank(holder);
        engine.closeOut(repoId);
        _refreshPrices();
    }

    function test_closeOut_byALenderWalletMovedIntoTheSellersIdentity_recordsNoShortfall() public {
        // No wallet of the seller's identity can take the position (RepoPosition.t.sol); but the registry's KYC agent
        // can move the lender's wallet into the seller's identity while it holds one. Were a shortfall recorded at the
        // close-out, the seller would be its own oldest creditor and its cash would come back to it ahead of its
        // real creditors.
        uint256 repoId = _open(_terms(uint64(block.timestamp) + 5 days));
        address spare = makeAddr("buyerSpare");
        uint256 buyerIdentity = registry.identityOf(buyer);
        uint256 sellerIdentity = registry.identityOf(seller);
        vm.startPrank(admin);
        registry.addWallet(buyerIdentity, spare);
        registry.removeWallet(buyer);
        registry.addWallet(sellerIdentity, buyer);
        vm.stopPrank();
        _at(uint64(block.timestamp) + 5 days + GRACE + 1);
        engine.declareDefault(repoId);
        _setBondPrice(CRASH_PRICE);
        vm.prank(buyer);
        engine.closeOut(repoId);
        _refreshPrices();
        assertEq(engine.shortfallOf(repoId), 0);
        assertEq(ledger.shortfallDebt(seller, address(cash)), 0);
        assertEq(ledger.shortfall(repoId).creditor, address(0));
    }

    function test_settledShortfallInTheMiddle_leavesTheQueue() public {
        (uint256 first, uint256 shortfall) = _shortfallRepo();
        uint256 middle = _closedOutBy(buyer);
        uint256 last = _closedOutBy(buyer);
        vm.prank(buyer);
        ledger.agreeShortfallSettled(middle);
        vm.prank(seller);
        ledger.agreeShortfallSettled(middle);
        uint256 lastShortfall = engine.shortfallOf(last);
        assertEq(ledger.shortfallDebt(seller, address(cash)), shortfall + lastShortfall);
        uint256 other = _repoWithCashMargin(shortfall + lastShortfall);
        vm.prank(seller);
        engine.withdrawExcess(other, 0, shortfall + lastShortfall);
        assertEq(engine.shortfallOf(first), 0);
        assertEq(engine.shortfallOf(last), 0);
        assertEq(ledger.shortfallDebt(seller, address(cash)), 0);
        // A new shortfall after the queue emptied starts it again.
        uint256 again = _closedOutBy(buyer);
        assertEq(ledger.shortfallDebt(seller, address(cash)), engine.shortfallOf(again));
    }

    /// @dev `count` closed-out repos of the seller, each leaving a shortfall to the buyer; returns their sum.
    function _manyShortfalls(uint256 count) internal returns (uint256[] memory ids, uint256 total) {
        ids = new uint256[](count);
        for (uint256 i; i < count; ++i) {
            ids[i] = _closedOutBy(buyer);
            total += engine.shortfallOf(ids[i]);
        }
    }

    function test_onePayment_collectsAtMostMaxCollections_theRestIsHeldNotPaid() public {
        // Without a bound, enough shortfalls make any step that pays the seller (another lender's close-out, a
        // coupon, a margin return) run out of gas; with one, the rest must not reach the seller either.
        uint256 count = 20;
        assertLt(engine.MAX_COLLECTIONS(), count);
        (uint256[] memory ids, uint256 total) = _manyShortfalls(count);
        uint256 margin = total + 1_000_00;
        uint256 other = _repoWithCashMargin(margin);
        uint256 sellerCash = cash.balanceOf(seller);
        uint256 buyerCash = cash.balanceOf(buyer);
        vm.prank(seller);
        uint256 gasBefore = gasleft();
        engine.withdrawExcess(other, 0, margin);
        uint256 used = gasBefore - gasleft();
        uint256 paid;
        for (uint256 i; i < count; ++i) {
            if (engine.shortfallOf(ids[i]) == 0) ++paid;
        }
        assertEq(paid, engine.MAX_COLLECTIONS(), "one payment collects a bounded number");
        assertEq(cash.balanceOf(seller), sellerCash, "nothing reaches the seller while it owes");
        uint256 held = engine.claimOf(seller, address(cash));
        assertEq(cash.balanceOf(buyer) - buyerCash + held, margin);
        assertLt(used, 2_000_000);

        // The seller's claim collects the next shortfalls before paying it what is left.
        vm.prank(seller);
        engine.claim(address(cash));
        assertEq(ledger.shortfallDebt(seller, address(cash)), 0);
        assertEq(cash.balanceOf(buyer) - buyerCash, total);
        assertEq(cash.balanceOf(seller), sellerCash + 1_000_00);
        assertEq(engine.claimOf(seller, address(cash)), 0);
        assertEq(cash.balanceOf(address(engine)), 0);
    }

    function test_claim_collectsShortfallsRecordedAfterItWasCredited() public {
        // The seller's margin comes back while it is frozen (a claim), then it defaults on another repo: its claim is
        // its cash reaching the engine like any other, and pays the shortfall first.
        uint256 other = _repoWithCashMargin(50_000_00);
        vm.prank(admin);
        cash.freeze(seller);
        vm.prank(seller);
        engine.withdrawExcess(other, 0, 50_000_00);
        assertEq(engine.claimOf(seller, address(cash)), 50_000_00);
        vm.prank(admin);
        cash.unfreeze(seller);
        (uint256 repoId, uint256 shortfall) = _shortfallRepo();
        uint256 buyerCash = cash.balanceOf(buyer);
        uint256 sellerCash = cash.balanceOf(seller);
        vm.prank(seller);
        engine.claim(address(cash));
        assertEq(cash.balanceOf(buyer), buyerCash + 50_000_00);
        assertEq(cash.balanceOf(seller), sellerCash);
        assertEq(engine.shortfallOf(repoId), shortfall - 50_000_00);
    }

    function test_cashCollateralReturned_paysTheSellersShortfallInThatToken() public {
        // A dollar repo of the seller holds euro cash as collateral; the seller then owes a euro shortfall. The euro
        // collateral coming back (excess withdrawn, then the repurchase) meets the shortfall first, as cash would.
        CashToken usd = new CashToken("Dollar Deposit Token", "USDD", "USD", 2, registry, admin);
        _listToken(address(engine), address(usd));
        vm.startPrank(admin);
        oracle.setCurrency(address(usd), address(usd));
        oracle.setCurrency(address(cash), address(cash));
        oracle.setFxHaircut(address(cash), address(usd), 100);
        usd.mint(buyer, 10_000_000_00);
        usd.mint(seller, 10_000_000_00);
        vm.stopPrank();
        vm.prank(buyer);
        usd.approve(address(engine), type(uint256).max);
        vm.prank(seller);
        usd.approve(address(engine), type(uint256).max);
        _setPrice(address(cash), address(usd), 1.08e18);
        IRepoEngine.RepoTerms memory t = _terms(0);
        (t.cashToken, t.collateralToken, t.collateralAmount) = (address(usd), address(cash), 2_000_000_00);
        uint256 dollarRepo = _open(t);

        uint256 defaulted = _closedOutBy(buyer);
        _setPrice(address(cash), address(usd), 1.08e18);
        uint256 shortfall = engine.shortfallOf(defaulted);
        assertGt(shortfall, 100_000_00);
        uint256 buyerCash = cash.balanceOf(buyer);
        uint256 sellerCash = cash.balanceOf(seller);
        vm.prank(seller);
        engine.withdrawExcess(dollarRepo, 100_000_00, 0);
        assertEq(cash.balanceOf(buyer), buyerCash + 100_000_00, "the excess collateral went to the creditor");
        assertEq(cash.balanceOf(seller), sellerCash);

        vm.prank(seller);
        engine.repurchase(dollarRepo);
        assertEq(cash.balanceOf(buyer), buyerCash + shortfall);
        assertEq(cash.balanceOf(seller), sellerCash + 2_000_000_00 - shortfall);
        assertEq(ledger.shortfallDebt(seller, address(cash)), 0);
    }
}
