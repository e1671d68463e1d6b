// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {BondToken} from "../../src/BondToken.sol";
import {CashToken} from "../../src/CashToken.sol";
import {IdentityRegistry} from "../../src/IdentityRegistry.sol";
import {IRepoEngine} from "../../src/interfaces/IRepoEngine.sol";
import {IRepoShortfalls} from "../../src/interfaces/IRepoShortfalls.sol";
import {PriceOracle} from "../../src/PriceOracle.sol";
import {RepoEngine} from "../../src/RepoEngine.sol";
import {RepoPosition} from "../../src/RepoPosition.sol";
import {Test} from "../utils/Test.sol";

/// @title RepoEngineHandler
/// @notice Drives random sequences of repo steps for the invariant suite: open, repurchase (early with the holder's
/// signature), margin call / post / withdraw, substitution, roll, re-rate and coupon election, termination, default,
/// close-out, coupons paid by a paying agent, shortfalls settled off chain, position transfers (including attempts to an unverified wallet), price moves and time jumps. Inputs are bounded
/// so that most calls are meaningful; a call that reverts changes nothing (fail_on_revert is off).
contract RepoEngineHandler is Test {
    RepoEngine internal immutable engine;
    RepoPosition internal immutable position;
    CashToken internal immutable cash;
    BondToken internal immutable bond;
    BondToken internal immutable bond2;
    PriceOracle internal immutable oracle;
    IdentityRegistry internal immutable registry;
    address internal immutable feeder;
    address internal immutable outsider;

    address[] internal actors;
    mapping(address actor => uint256 key) internal keys;

    uint256 internal bondPrice = 98.5e18;
    uint256 internal bond2Price = 101e18;
    uint256 internal nonce = 1_000_000;

    /// @notice Steps that must have been impossible but succeeded (asserted zero by the invariant suite).
    uint256 public violations;
    /// @notice Count of successful calls per step, for the run summary.
    mapping(bytes32 step => uint256 count) public calls;

    constructor(
        RepoEngine engine_,
        CashToken cash_,
        BondToken bond_,
        BondToken bond2_,
        PriceOracle oracle_,
        IdentityRegistry registry_,
        address feeder_,
        address outsider_,
        address[] memory actors_,
        uint256[] memory keys_
    ) {
        engine = engine_;
        position = RepoPosition(address(engine_.position()));
        cash = cash_;
        bond = bond_;
        bond2 = bond2_;
        oracle = oracle_;
        registry = registry_;
        feeder = feeder_;
        outsider = outsider_;
        for (uint256 i; i < actors_.length; ++i) {
            actors.push(actors_[i]);
            keys[actors_[i]] = keys_[i];
        }
    }

    // ------------------------------------------------------------------ steps

    function open(
        uint256 sellerSeed,
        uint256 buyerSeed,
        uint256 pp,
        uint256 cover,
        int256 rate,
        uint256 term,
        uint256 haircut
    ) external {
        address seller = _actor(sellerSeed);
        address buyer = _actor(buyerSeed);
        if (seller == buyer) buyer = _actor(buyerSeed + 1);
        pp = bound(pp, 1_000_00, 5_000_000_00);
        uint16 h = uint16(bound(haircut, 0, 2_000));
        // Collateral worth 85%..130% of PP after haircut.
        uint256 collateral = pp * bound(cover, 85, 130) * 10_000 / (100 * (10_000 - uint256(h))) * 1e18 / bondPrice + 1;
        term = bound(term, 0, 20 days);
        IRepoEngine.RepoTerms memory t = IRepoEngine.RepoTerms({
            seller: seller,
            buyer: buyer,
            cashToken: address(cash),
            purchasePrice: pp,
            rate: bound(rate, -0.02e18, 0.1e18),
            dayCountBasis: term % 2 == 0 ? 360 : 365,
            startTime: uint64(block.timestamp),
            maturity: term < 1 hours ? 0 : uint64(block.timestamp + term),
            noticePeriod: uint64(term % 3 days),
            collateralToken: address(bond),
            collateralAmount: collateral,
            haircutBps: h,
            minTransferAmount: pp / 200,
            marginCurePeriod: uint64(1 hours + term % 1 days),
            gracePeriod: uint64(term % 2 days),
            nonce: nonce++,
            deadline: uint64(block.timestamp + 1 hours)
        });
        bytes32 digest = engine.hashTypedData(engine.hashTerms(t));
        engine.open(t, _sign(keys[seller], digest), _sign(keys[buyer], digest));
        calls["open"]++;
    }

    function repurchase(uint256 repoSeed) external {
        (uint256 repoId, IRepoEngine.Repo memory r) = _repo(repoSeed);
        if (repoId == 0) return;
        if (r.maturity != 0 && block.timestamp < r.maturity) {
            address holder = position.ownerOf(repoId);
            uint256 n = nonce++;
            uint64 deadline = uint64(block.timestamp);
            bytes memory sig =
                _sign(keys[holder], engine.hashTypedData(engine.hashEarlyRepurchase(repoId, n, deadline)));
            vm.prank(r.seller);
            engine.repurchaseEarly(repoId, sig, n, deadline);
        } else {
            vm.prank(r.seller);
            engine.repurchase(repoId);
        }
        calls["repurchase"]++;
    }

    function callMargin(uint256 repoSeed) external {
        (uint256 repoId,) = _repo(repoSeed);
        if (repoId == 0) return;
        engine.callMargin(repoId);
        calls["callMargin"]++;
    }

    function postMargin(uint256 repoSeed, uint256 collateral, uint256 cashAmount) external {
        (uint256 repoId, IRepoEngine.Repo memory r) = _repo(repoSeed);
        if (repoId == 0) return;
        collateral = bound(collateral, 0, r.collateralAmount / 5);
        // Up to 120% of PP, so that cash margin sometimes exceeds the repurchase price.
        cashAmount = bound(cashAmount, 0, r.purchasePrice * 6 / 5);
        if (collateral == 0 && cashAmount == 0) cashAmount = 1;
        vm.prank(r.seller);
        engine.postMargin(repoId, collateral, cashAmount);
        calls["postMargin"]++;
    }

    function withdrawExcess(uint256 repoSeed, uint256 collateral, uint256 cashAmount) external {
        (uint256 repoId, IRepoEngine.Repo memory r) = _repo(repoSeed);
        if (repoId == 0) return;
        collateral = bound(collateral, 0, r.collateralAmount / 10);
        cashAmount = bound(cashAmount, 0, r.cashMargin);
        if (collateral == 0 && cashAmount == 0) collateral = 1;
        vm.prank(r.seller);
        engine.withdrawExcess(repoId, collateral, cashAmount);
        calls["withdrawExcess"]++;
    }

    function substitute(uint256 repoSeed, bool useBond2, uint256 extraBps) external {
        (uint256 repoId, IRepoEngine.Repo memory r) = _repo(repoSeed);
        if (repoId == 0) return;
        address token = useBond2 ? address(bond2) : address(bond);
        uint256 amount = _coveringAmount(repoId, r, useBond2 ? bond2Price : bondPrice, bound(extraBps, 0, 1_000));
        uint256 n = nonce++;
        bytes memory sig = _signSubstitution(repoId, token, amount, n);
        vm.prank(r.seller);
        engine.substitute(repoId, token, amount, sig, n, uint64(block.timestamp));
        calls["substitute"]++;
    }

    /// @dev Collateral units whose haircut-adjusted value, with the cash margin, covers RP(now) plus `extraBps`.
    function _coveringAmount(uint256 repoId, IRepoEngine.Repo memory r, uint256 price, uint256 extraBps)
        internal
        view
        returns (uint256)
    {
        uint256 rp = engine.repurchasePrice(repoId, uint64(block.timestamp));
        uint256 needed = rp > r.cashMargin ? rp - r.cashMargin : 0;
        return needed * 10_000 / (10_000 - uint256(r.haircutBps)) * (10_000 + extraBps) / 10_000 * 1e18 / price + 2;
    }

    function _signSubstitution(uint256 repoId, address token, uint256 amount, uint256 n)
        internal
        view
        returns (bytes memory)
    {
        address holder = position.ownerOf(repoId);
        bytes32 structHash = engine.hashSubstitution(repoId, token, amount, n, uint64(block.timestamp));
        return _sign(keys[holder], engine.hashTypedData(structHash));
    }

    /// @dev Kind by seed: roll, re-rate or coupon election (nonzero `newRate`: coupons reduce the repurchase price).
    function amend(uint256 repoSeed, uint8 kindSeed, uint256 extension, int256 newRate) external {
        (uint256 repoId, IRepoEngine.Repo memory r) = _repo(repoSeed);
        if (repoId == 0) return;
        IRepoEngine.Amendment memory a = IRepoEngine.Amendment({
            repoId: repoId,
            kind: kindSeed % 3,
            newMaturity: uint64(block.timestamp + bound(extension, 1 hours, 20 days)),
            newRate: bound(newRate, -0.02e18, 0.1e18),
            nonce: nonce++,
            deadline: uint64(block.timestamp)
        });
        bytes32 digest = engine.hashTypedData(engine.hashAmendment(a));
        address holder = position.ownerOf(repoId);
        engine.amend(a, _sign(keys[r.seller], digest), _sign(keys[holder], digest));
        calls["amend"]++;
    }

    function terminate(uint256 repoSeed, bool byHolder) external {
        (uint256 repoId, IRepoEngine.Repo memory r) = _repo(repoSeed);
        if (repoId == 0) return;
        vm.prank(byHolder ? position.ownerOf(repoId) : r.seller);
        engine.terminate(repoId);
        calls["terminate"]++;
    }

    function declareDefault(uint256 repoSeed) external {
        (uint256 repoId,) = _repo(repoSeed);
        if (repoId == 0) return;
        bool cashPaused = cash.paused();
        engine.declareDefault(repoId);
        if (cashPaused) violations++; // a pause must never create a default
        calls["declareDefault"]++;
    }

    /// @dev The holder can always enforce: a close-out of a defaulted repo never fails, whoever is frozen and
    /// whichever token is paused (prices are fresh: every warp re-posts them).
    function closeOut(uint256 repoSeed) external {
        (uint256 repoId, IRepoEngine.Repo memory r) = _repo(repoSeed);
        if (repoId == 0 || r.status != IRepoEngine.RepoStatus.DEFAULTED) return;
        vm.prank(position.ownerOf(repoId));
        try engine.closeOut(repoId) {
            calls["closeOut"]++;
        } catch {
            violations++;
        }
    }

    /// @dev An actor as paying agent pays the next coupon owed on a repo's collateral; paying one already paid (or
    /// not owed) must fail.
    function payCoupon(uint256 repoSeed, uint256 payerSeed) external {
        (uint256 repoId,) = _repo(repoSeed);
        if (repoId == 0) return;
        (uint256 index,,,,) = engine.couponOwed(repoId);
        address payer = _actor(payerSeed);
        if (index > 0 && index < type(uint256).max) {
            vm.prank(payer);
            try engine.payCoupon(repoId, index - 1) {
                violations++;
            } catch {}
        }
        vm.prank(payer);
        engine.payCoupon(repoId, index);
        calls["payCoupon"]++;
    }

    /// @dev The creditor or the seller agrees that a shortfall was settled off chain.
    function agreeShortfallSettled(uint256 repoSeed, bool bySeller) external {
        (uint256 repoId,) = _repo(repoSeed);
        if (repoId == 0) return;
        IRepoShortfalls.Shortfall memory s = engine.shortfallLedger().shortfall(repoId);
        if (s.remaining == 0) return;
        vm.prank(bySeller ? s.seller : s.creditor);
        engine.shortfallLedger().agreeShortfallSettled(repoId);
        calls["agreeShortfallSettled"]++;
    }

    // ------------------------------------------------------------------ compliance and operations

    /// @dev Compliance freezes (or unfreezes) an actor on every token: payments to it become claims.
    function freeze(uint256 actorSeed, bool unfreeze_) external {
        address who = _actor(actorSeed);
        vm.startPrank(feeder);
        if (unfreeze_ && cash.isFrozen(who)) {
            cash.unfreeze(who);
            bond.unfreeze(who);
            bond2.unfreeze(who);
        } else if (!unfreeze_ && !cash.isFrozen(who)) {
            cash.freeze(who);
            bond.freeze(who);
            bond2.freeze(who);
        }
        vm.stopPrank();
        calls["freeze"]++;
    }

    /// @dev The operator pauses or unpauses the cash token; no default may be declared while it is paused.
    function pauseCash(bool unpause_) external {
        vm.startPrank(feeder);
        if (unpause_ && cash.paused()) cash.unpause();
        else if (!unpause_ && !cash.paused()) cash.pause();
        vm.stopPrank();
        calls["pauseCash"]++;
    }

    /// @dev An actor collects its claim in one of the tokens.
    function claim(uint256 actorSeed, uint256 tokenSeed) external {
        address who = _actor(actorSeed);
        address token = [address(cash), address(bond), address(bond2)][tokenSeed % 3];
        if (engine.claimOf(who, token) == 0) return;
        vm.prank(who);
        engine.claim(token);
        calls["claim"]++;
    }

    function transferPosition(uint256 repoSeed, uint256 toSeed, bool toOutsider) external {
        (uint256 repoId,) = _repo(repoSeed);
        if (repoId == 0) return;
        address holder = position.ownerOf(repoId);
        if (toOutsider) {
            vm.prank(holder);
            try position.transferFrom(holder, outsider, repoId) {
                violations++;
            } catch {}
            return;
        }
        vm.prank(holder);
        position.transferFrom(holder, _actor(toSeed), repoId);
        calls["transferPosition"]++;
    }

    function movePrice(uint256 priceSeed, bool second) external {
        if (second) bond2Price = bound(priceSeed, 85e18, 115e18);
        else bondPrice = bound(priceSeed, 80e18, 110e18);
        _postPrices();
        calls["movePrice"]++;
    }

    function warp(uint256 dt) external {
        vm.warp(block.timestamp + bound(dt, 1, 2 days));
        _postPrices();
        calls["warp"]++;
    }

    // ------------------------------------------------------------------ helpers

    function actorList() external view returns (address[] memory) {
        return actors;
    }

    function _postPrices() internal {
        vm.startPrank(feeder);
        oracle.setPrice(address(bond), address(cash), bondPrice);
        oracle.setPrice(address(bond2), address(cash), bond2Price);
        vm.stopPrank();
    }

    function _actor(uint256 seed) internal view returns (address) {
        return actors[seed % actors.length];
    }

    /// @dev A repo picked by seed among all opened ones (any status), or 0 if none.
    function _repo(uint256 seed) internal view returns (uint256 repoId, IRepoEngine.Repo memory r) {
        uint256 count = engine.repoCount();
        if (count == 0) return (0, r);
        repoId = bound(seed, 1, count);
        r = engine.getRepo(repoId);
    }

    function _sign(uint256 key, bytes32 digest) internal pure returns (bytes memory) {
        (uint8 v, bytes32 rr, bytes32 s) = vm.sign(key, digest);
        return abi.encodePacked(rr, s, v);
    }
}
