// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {IRepoEngine} from "../src/interfaces/IRepoEngine.sol";
import {RepoFixture} from "./utils/RepoFixture.sol";

/// @notice The repo written at open as whole packed words reads back field for field, for any accepted terms
/// (negative rates, open and term repos, zero and full-width amounts and periods); the fields packed beside them
/// (slot 0's election bit next to the cross-currency flag, slot 3's nextCoupon next to collateralSince and openedAt,
/// slot 5's cash margin next to the 72-bit rate, the period start and the basis, slot 6's call next to its cure
/// deadline) start at their defaults and, when written, leave every other field as it was.
contract RepoEngineStorageTest is RepoFixture {
    function testFuzz_open_storesEveryField(
        uint256 pp,
        int256 rate,
        bool basis365,
        uint64 maturityIn,
        uint64[3] memory periods,
        uint256 collateral,
        uint16 haircut,
        uint256 mta
    ) public {
        IRepoEngine.RepoTerms memory t = _terms(0);
        t.purchasePrice = bound(pp, 1, 100_000_000_00);
        t.rate = bound(rate, -1000e18, 1000e18);
        t.dayCountBasis = basis365 ? 365 : 360;
        t.maturity = maturityIn % 2 == 0 ? 0 : uint64(block.timestamp) + uint64(bound(maturityIn, 1, 100 * 365 days));
        t.noticePeriod = uint64(bound(periods[0], 0, type(uint32).max));
        t.marginCurePeriod = uint64(bound(periods[1], 0, type(uint32).max));
        t.gracePeriod = uint64(bound(periods[2], 0, type(uint32).max));
        t.collateralAmount = bound(collateral, 1, 100_000_000);
        t.haircutBps = uint16(bound(haircut, 0, 9_999));
        t.minTransferAmount = bound(mta, 0, type(uint96).max);
        uint256 repoId = _open(t);
        _assertStored(repoId, t);
        (, uint64 recordDate, uint64 paymentDate, uint256 units, bool toRP) = engine.couponOwed(repoId);
        assertEq(recordDate, 0); // the fixture's bond has no coupon schedule
        assertEq(paymentDate, 0);
        assertEq(units, t.collateralAmount);
        assertFalse(toRP);

        // The election bit (slot 0, bit 248) beside the cross-currency flag (bit 240) and the 32-bit notice period.
        IRepoEngine.Amendment memory a =
            _amendment(repoId, uint8(IRepoEngine.AmendmentKind.COUPON_ELECTION), 0, int256(1));
        engine.amend(a, _signAmendment(sellerKey, a), _signAmendment(buyerKey, a));
        (,,,, toRP) = engine.couponOwed(repoId);
        assertTrue(toRP);
        _assertStored(repoId, t);
    }

    /// @dev Amounts past their field: the minimum transfer fits 96 bits, the purchase price and collateral 128.
    function testFuzz_open_revertsIfAmountTooLarge(uint256 mta, uint256 pp) public {
        IRepoEngine.RepoTerms memory t = _terms(0);
        t.minTransferAmount = bound(mta, uint256(type(uint96).max) + 1, type(uint256).max);
        bytes memory s1 = _signTerms(sellerKey, t);
        bytes memory s2 = _signTerms(buyerKey, t);
        vm.expectRevert(abi.encodeWithSelector(IRepoEngine.RepoAmountTooLarge.selector, t.minTransferAmount));
        engine.open(t, s1, s2);

        t = _terms(0);
        t.purchasePrice = bound(pp, uint256(type(uint128).max) + 1, type(uint256).max);
        s1 = _signTerms(sellerKey, t);
        s2 = _signTerms(buyerKey, t);
        vm.expectRevert(abi.encodeWithSelector(IRepoEngine.RepoAmountTooLarge.selector, t.purchasePrice));
        engine.open(t, s1, s2);
    }

    /// @dev Cash margin (slot 5, beside the rate period), a call (slot 6) and a re-rate (slots 5 and 7) written after
    /// the open leave every other field as it was.
    function testFuzz_laterWrites_keepPackedNeighbours(int256 rate, int256 newRate, uint96 mta, uint32 cash) public {
        IRepoEngine.RepoTerms memory t = _terms(0);
        // Down to -100 % a year, so that the call below is due at any cash margin up to a tenth of the price.
        t.rate = bound(rate, -1e18, 1000e18);
        t.minTransferAmount = bound(mta, 0, 1_000_00);
        uint256 repoId = _open(t);
        uint256 openedAt = block.timestamp;
        uint256 margin = bound(cash, 1, PP / 10);
        vm.prank(seller);
        engine.postMargin(repoId, 0, margin);
        IRepoEngine.Repo memory r = engine.getRepo(repoId);
        assertEq(r.cashMargin, margin);
        assertEq(r.rate, t.rate);
        assertEq(uint256(r.periodStart), openedAt);
        assertEq(uint256(r.dayCountBasis), t.dayCountBasis);
        assertEq(r.minTransferAmount, t.minTransferAmount);
        assertEq(r.crystallizedPD, int256(0));

        _skip(10 days);
        _setBondPrice(50e18);
        engine.callMargin(repoId);
        r = engine.getRepo(repoId);
        assertEq(uint256(r.cureDeadline), block.timestamp + t.marginCurePeriod);
        assertGt(r.marginCallOutstanding, 0);
        assertEq(r.cashMargin, margin);
        assertEq(r.rate, t.rate);

        int256 rerate = bound(newRate, -1000e18, 1000e18);
        IRepoEngine.Amendment memory a = _amendment(repoId, uint8(IRepoEngine.AmendmentKind.RERATE), 0, rerate);
        engine.amend(a, _signAmendment(sellerKey, a), _signAmendment(buyerKey, a));
        r = engine.getRepo(repoId);
        assertEq(r.rate, rerate);
        assertEq(uint256(r.periodStart), block.timestamp);
        assertEq(r.crystallizedPD, _refPD(t.purchasePrice, t.rate, t.dayCountBasis, 10 days));
        assertEq(r.cashMargin, margin);
        assertEq(uint256(r.dayCountBasis), t.dayCountBasis);
        assertEq(uint256(r.openedAt), openedAt);
        assertEq(uint256(r.cureDeadline), openedAt + 10 days + t.marginCurePeriod);
    }

    function _assertStored(uint256 repoId, IRepoEngine.RepoTerms memory t) internal view {
        IRepoEngine.Repo memory r = engine.getRepo(repoId);
        assertEq(r.seller, seller);
        assertEq(r.buyer, buyer);
        assertEq(r.cashToken, address(cash));
        assertEq(r.collateralToken, address(bond));
        assertEq(r.purchasePrice, t.purchasePrice);
        assertEq(r.rate, t.rate);
        assertEq(uint256(r.dayCountBasis), t.dayCountBasis);
        assertEq(uint256(r.haircutBps), t.haircutBps);
        assertEq(uint256(r.status), uint256(IRepoEngine.RepoStatus.OPEN));
        assertEq(uint256(r.openedAt), block.timestamp);
        assertEq(uint256(r.periodStart), block.timestamp);
        assertEq(uint256(r.maturity), t.maturity);
        assertEq(uint256(r.noticePeriod), t.noticePeriod);
        assertEq(uint256(r.marginCurePeriod), t.marginCurePeriod);
        assertEq(uint256(r.gracePeriod), t.gracePeriod);
        assertEq(uint256(r.cureDeadline), 0);
        assertEq(r.crystallizedPD, int256(0));
        assertEq(r.collateralAmount, t.collateralAmount);
        assertEq(r.cashMargin, 0);
        assertEq(r.minTransferAmount, t.minTransferAmount);
        assertEq(r.marginCallOutstanding, 0);
        (bool cross, uint16 fx) = engine.fxTermsOf(repoId);
        assertFalse(cross);
        assertEq(fx, 0);
    }
}
