// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {IRepoEngine} from "../src/interfaces/IRepoEngine.sol";
import {IRepoGcSettlement} from "../src/interfaces/IRepoGcSettlement.sol";
import {IRepoMigration} from "../src/interfaces/IRepoMigration.sol";
import {IRepoPosition} from "../src/interfaces/IRepoPosition.sol";
import {IRepoShortfalls} from "../src/interfaces/IRepoShortfalls.sol";
import {RepoGcSettlement} from "../src/RepoGcSettlement.sol";
import {RepoMigration} from "../src/RepoMigration.sol";
import {RepoFixture} from "./utils/RepoFixture.sol";

/// @dev GC order-book fills: a repo opens for each fill within both signed orders, and for nothing outside them.
contract RepoEngineGcTest is RepoFixture {
    uint256 internal constant SIZE = 5_000_000_00;
    uint256 internal constant MIN_FILL = 500_000_00;
    int256 internal constant FLOOR = 0.03e18;
    int256 internal constant CAP = 0.04e18;
    uint16 internal constant GC_HAIRCUT = 300;

    IRepoGcSettlement internal gc;
    address internal matcher;
    IRepoGcSettlement.GcBasket internal basket;
    uint64 internal maturity;

    function setUp() public override {
        super.setUp();
        gc = IRepoGcSettlement(address(engine));
        matcher = makeAddr("matcher");
        basket.dayCountBasis = 360;
        basket.minTransferAmount = MTA;
        basket.marginCurePeriod = CURE;
        basket.gracePeriod = GRACE;
        basket.bonds.push(IRepoGcSettlement.GcBond(address(bond), GC_HAIRCUT));
        basket.bonds.push(IRepoGcSettlement.GcBond(address(bond2), 500));
        maturity = uint64(block.timestamp + 1 days);
    }

    // ------------------------------------------------------------------ helpers

    function _order(address maker, IRepoGcSettlement.GcSide side, int256 rate)
        internal
        returns (IRepoGcSettlement.GcOrder memory)
    {
        return IRepoGcSettlement.GcOrder({
            maker: maker,
            matcher: matcher,
            side: side,
            cashToken: address(cash),
            basket: gc.gcBasketHash(basket),
            start: uint64(block.timestamp),
            maturity: maturity,
            rate: rate,
            size: SIZE,
            minFill: MIN_FILL,
            nonce: nextNonce++,
            deadline: uint64(block.timestamp + 8 hours)
        });
    }

    function _lend() internal returns (IRepoGcSettlement.GcOrder memory) {
        return _order(buyer, IRepoGcSettlement.GcSide.LEND, FLOOR);
    }

    function _borrow() internal returns (IRepoGcSettlement.GcOrder memory) {
        return _order(seller, IRepoGcSettlement.GcSide.BORROW, CAP);
    }

    function _signOrder(uint256 key, IRepoGcSettlement.GcOrder memory o) internal view returns (bytes memory) {
        return _sign(key, gc.gcOrderHash(o));
    }

    /// @dev The reference: the least amount of `bondIndex` whose haircut value covers `cashAmount`.
    function _least(uint256 bondIndex, uint256 cashAmount) internal view returns (uint256 high) {
        IRepoGcSettlement.GcBond memory b = basket.bonds[bondIndex];
        uint256 low = 0;
        high = 1;
        while (_refValue(b, high) < cashAmount) {
            low = high;
            high *= 2;
        }
        while (high - low > 1) {
            uint256 mid = (low + high) / 2;
            if (_refValue(b, mid) >= cashAmount) high = mid;
            else low = mid;
        }
    }

    function _refValue(IRepoGcSettlement.GcBond memory b, uint256 amount) internal view returns (uint256) {
        (uint256 price,) = oracle.getPrice(b.token, address(cash));
        return _refAdjusted(amount, price, b.haircutBps);
    }

    function _fill(uint256 amount, int256 rate) internal view returns (IRepoGcSettlement.GcFill memory) {
        return IRepoGcSettlement.GcFill({amount: amount, rate: rate, bond: 0, collateralAmount: _least(0, amount)});
    }

    function _settle(
        IRepoGcSettlement.GcOrder memory lend,
        IRepoGcSettlement.GcOrder memory borrow,
        IRepoGcSettlement.GcFill memory fill
    ) internal returns (uint256) {
        bytes memory lendSig = _signOrder(buyerKey, lend);
        bytes memory borrowSig = _signOrder(sellerKey, borrow);
        vm.prank(matcher);
        return gc.settleGcFill(lend, lendSig, borrow, borrowSig, basket, fill);
    }

    function _expectSettleRevert(
        IRepoGcSettlement.GcOrder memory lend,
        IRepoGcSettlement.GcOrder memory borrow,
        IRepoGcSettlement.GcFill memory fill,
        bytes memory err
    ) internal {
        bytes memory lendSig = _signOrder(buyerKey, lend);
        bytes memory borrowSig = _signOrder(sellerKey, borrow);
        vm.prank(matcher);
        vm.expectRevert(err);
        gc.settleGcFill(lend, lendSig, borrow, borrowSig, basket, fill);
    }

    // ------------------------------------------------------------------ fills within the limits

    function test_settleGcFill_opensTheRepoOnTheOrdersTerms() public {
        IRepoGcSettlement.GcOrder memory lend = _lend();
        IRepoGcSettlement.GcOrder memory borrow = _borrow();
        IRepoGcSettlement.GcFill memory fill = _fill(PP, 0.035e18);
        uint256 sellerCash = cash.balanceOf(seller);
        uint256 buyerCash = cash.balanceOf(buyer);

        vm.expectEmit(address(engine));
        emit IRepoGcSettlement.GcFillSettled(1, gc.gcOrderHash(lend), gc.gcOrderHash(borrow), 1, PP, 0.035e18);
        uint256 repoId = _settle(lend, borrow, fill);

        IRepoEngine.Repo memory r = engine.getRepo(repoId);
        assertEq(r.seller, seller, "the borrower sells the collateral");
        assertEq(r.buyer, buyer, "the lender buys it");
        assertEq(position.ownerOf(repoId), buyer);
        assertEq(r.purchasePrice, PP);
        assertEq(r.rate, 0.035e18);
        assertEq(uint256(r.maturity), maturity);
        assertEq(r.collateralToken, address(bond));
        assertEq(r.collateralAmount, fill.collateralAmount);
        assertEq(uint256(r.haircutBps), GC_HAIRCUT);
        assertEq(r.minTransferAmount, MTA);
        assertEq(uint256(r.marginCurePeriod), CURE);
        assertEq(uint256(r.gracePeriod), GRACE);
        assertEq(uint256(r.noticePeriod), 0);
        assertEq(cash.balanceOf(seller), sellerCash + PP);
        assertEq(cash.balanceOf(buyer), buyerCash - PP);
        assertEq(gc.gcFilled(gc.gcOrderHash(lend)), PP);
        assertEq(gc.gcFilled(gc.gcOrderHash(borrow)), PP);
        assertTrue(engine.nonceUsed(seller, (1 << 255) | 1), "the fill uses the fills' own nonce space");
        assertFalse(engine.nonceUsed(seller, borrow.nonce), "the order's nonce stays unspent: it fills again");
    }

    function test_settleGcFill_partialFillsAddUpToTheSizeAndNoFurther() public {
        IRepoGcSettlement.GcOrder memory lend = _lend();
        IRepoGcSettlement.GcOrder memory borrow = _borrow();
        _settle(lend, borrow, _fill(3_000_000_00, FLOOR));
        _settle(lend, borrow, _fill(2_000_000_00, CAP));
        assertEq(gc.gcFilled(gc.gcOrderHash(lend)), SIZE);
        assertEq(engine.repoCount(), 2);

        _expectSettleRevert(
            lend,
            borrow,
            _fill(MIN_FILL, FLOOR),
            abi.encodeWithSelector(IRepoGcSettlement.GcOutsideLimit.selector, gc.gcOrderHash(lend), "size exceeded")
        );
    }

    function test_settleGcFill_deliversAnyBondOfTheBasketAtItsHaircut() public {
        IRepoGcSettlement.GcFill memory fill =
            IRepoGcSettlement.GcFill({amount: PP, rate: FLOOR, bond: 1, collateralAmount: _least(1, PP)});
        uint256 repoId = _settle(_lend(), _borrow(), fill);
        IRepoEngine.Repo memory r = engine.getRepo(repoId);
        assertEq(r.collateralToken, address(bond2));
        assertEq(uint256(r.haircutBps), 500);
    }

    function test_settleGcFill_acceptsAContractWalletsOrder() public {
        IRepoGcSettlement.GcOrder memory lend = _order(address(wallet), IRepoGcSettlement.GcSide.LEND, FLOOR);
        IRepoGcSettlement.GcOrder memory borrow = _borrow();
        bytes memory lendSig = _sign(walletOwnerKey, gc.gcOrderHash(lend));
        bytes memory borrowSig = _signOrder(sellerKey, borrow);
        IRepoGcSettlement.GcFill memory fill = _fill(PP, FLOOR);
        vm.prank(matcher);
        uint256 repoId = gc.settleGcFill(lend, lendSig, borrow, borrowSig, basket, fill);
        assertEq(position.ownerOf(repoId), address(wallet));
    }

    // ------------------------------------------------------------------ who may fill

    function test_settleGcFill_onlyTheNamedMatcher() public {
        IRepoGcSettlement.GcOrder memory lend = _lend();
        IRepoGcSettlement.GcOrder memory borrow = _borrow();
        bytes memory lendSig = _signOrder(buyerKey, lend);
        bytes memory borrowSig = _signOrder(sellerKey, borrow);
        IRepoGcSettlement.GcFill memory fill = _fill(PP, FLOOR);
        vm.prank(outsider);
        vm.expectRevert(abi.encodeWithSelector(IRepoGcSettlement.GcNotMatcher.selector, outsider));
        gc.settleGcFill(lend, lendSig, borrow, borrowSig, basket, fill);

        borrow.matcher = outsider; // and each order names its matcher
        borrowSig = _signOrder(sellerKey, borrow);
        vm.prank(matcher);
        vm.expectRevert(abi.encodeWithSelector(IRepoGcSettlement.GcNotMatcher.selector, matcher));
        gc.settleGcFill(lend, lendSig, borrow, borrowSig, basket, fill);
    }

    function test_open_withoutSignatures_isRefusedToAnyoneButTheEngine() public {
        IRepoEngine.RepoTerms memory t = _terms(0);
        vm.prank(matcher);
        vm.expectRevert(abi.encodeWithSelector(IRepoEngine.RepoInvalidSignature.selector, seller));
        engine.open(t, "", "");
    }

    function test_extensions_revertWhenCalledDirectly() public {
        RepoGcSettlement bare = new RepoGcSettlement(oracle);
        IRepoGcSettlement.GcOrder memory lend = _lend();
        IRepoGcSettlement.GcOrder memory borrow = _borrow();
        IRepoGcSettlement.GcFill memory fill = _fill(PP, FLOOR);
        vm.prank(matcher);
        vm.expectRevert(abi.encodeWithSelector(IRepoGcSettlement.GcNotMatcher.selector, matcher));
        bare.settleGcFill(lend, "", borrow, "", basket, fill);

        RepoMigration migration =
            new RepoMigration(registry, oracle, IRepoPosition(address(0)), IRepoShortfalls(address(0)), 0, 0, 0);
        vm.prank(matcher);
        vm.expectRevert(IRepoMigration.RepoMigrationNotDelegated.selector);
        IRepoGcSettlement(address(migration)).settleGcFill(lend, "", borrow, "", basket, fill);
    }

    // ------------------------------------------------------------------ what both signed

    function test_settleGcFill_refusesARateOutsideEitherBound() public {
        IRepoGcSettlement.GcOrder memory lend = _lend();
        IRepoGcSettlement.GcOrder memory borrow = _borrow();
        _expectSettleRevert(
            lend,
            borrow,
            _fill(PP, FLOOR - 1),
            abi.encodeWithSelector(
                IRepoGcSettlement.GcOutsideLimit.selector, gc.gcOrderHash(lend), "rate below the lend floor"
            )
        );
        _expectSettleRevert(
            lend,
            borrow,
            _fill(PP, CAP + 1),
            abi.encodeWithSelector(
                IRepoGcSettlement.GcOutsideLimit.selector, gc.gcOrderHash(borrow), "rate above the borrow cap"
            )
        );
    }

    function test_settleGcFill_refusesLessThanEitherMinimumFill() public {
        IRepoGcSettlement.GcOrder memory lend = _lend();
        IRepoGcSettlement.GcOrder memory borrow = _borrow();
        borrow.minFill = 2 * MIN_FILL;
        _expectSettleRevert(
            lend,
            borrow,
            _fill(2 * MIN_FILL - 1, FLOOR),
            abi.encodeWithSelector(
                IRepoGcSettlement.GcOutsideLimit.selector, gc.gcOrderHash(borrow), "below the minimum fill"
            )
        );
        _expectSettleRevert(
            lend,
            borrow,
            _fill(MIN_FILL - 1, FLOOR),
            abi.encodeWithSelector(
                IRepoGcSettlement.GcOutsideLimit.selector, gc.gcOrderHash(lend), "below the minimum fill"
            )
        );
    }

    function test_settleGcFill_refusesCollateralThatIsNotTheLeastCovering() public {
        IRepoGcSettlement.GcOrder memory lend = _lend();
        IRepoGcSettlement.GcOrder memory borrow = _borrow();
        IRepoGcSettlement.GcFill memory fill = _fill(PP, FLOOR);
        uint256 least = fill.collateralAmount;
        fill.collateralAmount = least - 1;
        _expectSettleRevert(
            lend, borrow, fill, abi.encodeWithSelector(IRepoGcSettlement.GcCollateralNotLeast.selector, least - 1)
        );
        fill.collateralAmount = least + 1;
        _expectSettleRevert(
            lend, borrow, fill, abi.encodeWithSelector(IRepoGcSettlement.GcCollateralNotLeast.selector, least + 1)
        );
    }

    function test_settleGcFill_refusesABondOrBasketNeitherSigned() public {
        IRepoGcSettlement.GcOrder memory lend = _lend();
        IRepoGcSettlement.GcOrder memory borrow = _borrow();
        IRepoGcSettlement.GcFill memory fill = _fill(PP, FLOOR);
        fill.bond = 2;
        _expectSettleRevert(
            lend,
            borrow,
            fill,
            abi.encodeWithSelector(IRepoGcSettlement.GcOrdersMismatch.selector, "bond not in the basket")
        );

        basket.bonds[0].haircutBps = 100; // a lower haircut than both signed: less collateral
        fill = _fill(PP, FLOOR);
        _expectSettleRevert(
            lend, borrow, fill, abi.encodeWithSelector(IRepoGcSettlement.GcOrdersMismatch.selector, "basket")
        );
    }

    function test_settleGcFill_refusesOrdersThatDoNotPair() public {
        IRepoGcSettlement.GcFill memory fill = _fill(PP, FLOOR);
        IRepoGcSettlement.GcOrder memory lend = _lend();
        IRepoGcSettlement.GcOrder memory borrow = _borrow();
        borrow.side = IRepoGcSettlement.GcSide.LEND;
        _expectSettleRevert(
            lend, borrow, fill, abi.encodeWithSelector(IRepoGcSettlement.GcOrdersMismatch.selector, "sides")
        );
        borrow = _borrow();
        borrow.cashToken = address(bond2);
        _expectSettleRevert(
            lend, borrow, fill, abi.encodeWithSelector(IRepoGcSettlement.GcOrdersMismatch.selector, "cash token")
        );
        borrow = _borrow();
        borrow.maturity = maturity + 1 days;
        _expectSettleRevert(
            lend, borrow, fill, abi.encodeWithSelector(IRepoGcSettlement.GcOrdersMismatch.selector, "maturity")
        );
    }

    function test_settleGcFill_refusesAnOrderItsMakerDidNotSign() public {
        IRepoGcSettlement.GcOrder memory lend = _lend();
        IRepoGcSettlement.GcOrder memory borrow = _borrow();
        bytes memory lendSig = _signOrder(buyerKey, lend);
        bytes memory borrowSig = _signOrder(sellerKey, borrow);
        lend.size = 2 * SIZE; // changed after signing
        IRepoGcSettlement.GcFill memory fill = _fill(PP, FLOOR);
        vm.prank(matcher);
        vm.expectRevert(abi.encodeWithSelector(IRepoGcSettlement.GcInvalidSignature.selector, buyer));
        gc.settleGcFill(lend, lendSig, borrow, borrowSig, basket, fill);

        lend.size = SIZE;
        lendSig = _signOrder(carolKey, lend); // someone else's key
        vm.prank(matcher);
        vm.expectRevert(abi.encodeWithSelector(IRepoGcSettlement.GcInvalidSignature.selector, buyer));
        gc.settleGcFill(lend, lendSig, borrow, borrowSig, basket, fill);
    }

    function test_settleGcFill_refusesAnExpiredOrCancelledOrder() public {
        IRepoGcSettlement.GcOrder memory lend = _lend();
        IRepoGcSettlement.GcOrder memory borrow = _borrow();
        borrow.deadline = uint64(block.timestamp + 1 hours);
        _skip(1 hours + 1);
        _expectSettleRevert(
            lend,
            borrow,
            _fill(PP, FLOOR),
            abi.encodeWithSelector(IRepoGcSettlement.GcOrderExpired.selector, gc.gcOrderHash(borrow), borrow.deadline)
        );

        borrow = _borrow();
        borrow.start = lend.start;
        vm.prank(buyer);
        engine.cancelNonce(lend.nonce);
        _expectSettleRevert(
            lend,
            borrow,
            _fill(PP, FLOOR),
            abi.encodeWithSelector(IRepoGcSettlement.GcOrderCancelled.selector, gc.gcOrderHash(lend))
        );
    }

    /// @dev A tom-next or forward-starting order matched today opens on its opening day, not before; both orders must
    /// name the same opening day.
    function test_settleGcFill_opensNoFillBeforeTheOrdersStart() public {
        IRepoGcSettlement.GcOrder memory lend = _lend();
        IRepoGcSettlement.GcOrder memory borrow = _borrow();
        uint64 start = uint64(block.timestamp + 1 days);
        lend.start = start;
        borrow.start = start;
        lend.maturity = borrow.maturity = start + 1 days;
        lend.deadline = borrow.deadline = start + 1 days - 1;
        _expectSettleRevert(
            lend,
            borrow,
            _fill(PP, FLOOR),
            abi.encodeWithSelector(IRepoGcSettlement.GcOrderNotStarted.selector, gc.gcOrderHash(lend), start)
        );

        _skip(1 days);
        bytes memory lendSig = _signOrder(buyerKey, lend);
        bytes memory borrowSig = _signOrder(sellerKey, borrow);
        IRepoGcSettlement.GcFill memory fill = _fill(PP, FLOOR);
        vm.prank(matcher);
        uint256 repoId = gc.settleGcFill(lend, lendSig, borrow, borrowSig, basket, fill);
        IRepoEngine.Repo memory r = engine.getRepo(repoId);
        assertEq(uint256(r.openedAt), block.timestamp);
        assertEq(uint256(r.maturity), start + 1 days);

        borrow = _borrow();
        borrow.start = start + 1;
        borrow.maturity = lend.maturity;
        _expectSettleRevert(
            lend, borrow, _fill(PP, FLOOR), abi.encodeWithSelector(IRepoGcSettlement.GcOrdersMismatch.selector, "start")
        );
    }

    function test_settleGcFill_theEnginesOwnChecksStillApply() public {
        IRepoGcSettlement.GcOrder memory lend = _lend();
        IRepoGcSettlement.GcOrder memory borrow = _order(buyer, IRepoGcSettlement.GcSide.BORROW, CAP);
        bytes memory lendSig = _signOrder(buyerKey, lend);
        bytes memory borrowSig = _signOrder(buyerKey, borrow);
        IRepoGcSettlement.GcFill memory fill = _fill(PP, FLOOR);
        vm.prank(matcher);
        vm.expectRevert(abi.encodeWithSelector(IRepoEngine.RepoSameParty.selector, buyer));
        gc.settleGcFill(lend, lendSig, borrow, borrowSig, basket, fill);
    }

    /// @dev The property: a fill settles only if it is within both orders' signed limits, and then it opens a repo
    /// of exactly that amount at exactly that rate.
    function testFuzz_settleGcFill_settlesExactlyTheFillsWithinBothLimits(uint256 amount, int256 rate) public {
        amount = bound(amount, 1, 2 * SIZE);
        rate = bound(rate, FLOOR - 0.01e18, CAP + 0.01e18);
        IRepoGcSettlement.GcOrder memory lend = _lend();
        IRepoGcSettlement.GcOrder memory borrow = _borrow();
        IRepoGcSettlement.GcFill memory fill = _fill(amount, rate);
        bytes memory lendSig = _signOrder(buyerKey, lend);
        bytes memory borrowSig = _signOrder(sellerKey, borrow);
        bool within = amount >= MIN_FILL && amount <= SIZE && rate >= FLOOR && rate <= CAP;
        vm.prank(matcher);
        try gc.settleGcFill(lend, lendSig, borrow, borrowSig, basket, fill) returns (uint256 repoId) {
            assertTrue(within, "settled outside the signed limits");
            IRepoEngine.Repo memory r = engine.getRepo(repoId);
            assertEq(r.purchasePrice, amount);
            assertEq(r.rate, rate);
        } catch {
            assertFalse(within, "refused a fill within the signed limits");
        }
    }
}
