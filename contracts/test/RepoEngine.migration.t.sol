// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {IAccessControl} from "@openzeppelin/contracts/access/IAccessControl.sol";
import {IRepoCoupons} from "../src/interfaces/IRepoCoupons.sol";
import {IRepoEngine} from "../src/interfaces/IRepoEngine.sol";
import {IRepoMigration} from "../src/interfaces/IRepoMigration.sol";
import {IRepoPosition} from "../src/interfaces/IRepoPosition.sol";
import {IRepoShortfalls} from "../src/interfaces/IRepoShortfalls.sol";
import {RepoEngine} from "../src/RepoEngine.sol";
import {RepoMigration} from "../src/RepoMigration.sol";
import {RepoPosition} from "../src/RepoPosition.sol";
import {CouponFixture} from "./utils/CouponFixture.sol";

/// @notice Shipping a fix while repos are live (contracts/UPGRADES.md): a successor engine is deployed, the admin
/// names it, and each live repo moves when its seller and its holder both consent. Every state a repo can be moved
/// in (open, margin-called, matured, defaulted, with cash margin, re-rated, with a coupon recorded) continues its life
/// in the successor with the same stored terms, and repos that ended, and claims, stay with the old engine.
contract RepoEngineMigrationTest is CouponFixture {
    RepoEngine internal next;
    RepoPosition internal nextPosition;

    function setUp() public virtual override {
        super.setUp();
        next = new RepoEngine(registry, oracle, admin);
        nextPosition = RepoPosition(address(next.position()));
        _addSystemAccount(address(next));
        _listTokens(address(next), _fixtureTokens());
        address[4] memory parties = [seller, buyer, carol, address(wallet)];
        for (uint256 i; i < parties.length; ++i) {
            vm.startPrank(parties[i]);
            cash.approve(address(next), type(uint256).max);
            bond.approve(address(next), type(uint256).max);
            bond2.approve(address(next), type(uint256).max);
            vm.stopPrank();
        }
        vm.startPrank(admin);
        _mig(engine).setSuccessor(address(next));
        _mig(next).setPredecessor(address(engine));
        vm.stopPrank();
    }

    function _mig(RepoEngine e) internal pure returns (IRepoMigration) {
        return IRepoMigration(address(e));
    }

    /// @dev Seller, then holder, consent: returns the repo's id in `next`.
    function _migrate(uint256 repoId) internal returns (uint256 newId) {
        address holder = position.ownerOf(repoId);
        vm.prank(seller);
        assertEq(_mig(engine).consentMigration(repoId, address(next)), 0, "one consent moves nothing");
        vm.prank(holder);
        newId = _mig(engine).consentMigration(repoId, address(next));
        assertGt(newId, 0);
    }

    /// @dev Migrates and checks what must hold for any state: same stored repo, escrow and position moved.
    function _migrateAndCheck(uint256 repoId) internal returns (uint256 newId) {
        IRepoEngine.Repo memory before = engine.getRepo(repoId);
        address holder = position.ownerOf(repoId);
        uint256 positions = position.balanceOf(holder);
        uint256 rpLater = engine.repurchasePrice(repoId, uint64(block.timestamp + 7 days));
        uint256 bondOld = bond.balanceOf(address(engine));
        uint256 cashOld = cash.balanceOf(address(engine));
        uint256 bondNext = bond.balanceOf(address(next));
        uint256 cashNext = cash.balanceOf(address(next));

        newId = _migrate(repoId);

        assertEq(keccak256(abi.encode(next.getRepo(newId))), keccak256(abi.encode(before)), "stored repo intact");
        assertEq(next.repurchasePrice(newId, uint64(block.timestamp + 7 days)), rpLater, "accrual intact");
        assertEq(nextPosition.ownerOf(newId), holder, "same holder");
        assertEq(position.balanceOf(holder), positions - 1, "old position burned");
        IRepoEngine.Repo memory old = engine.getRepo(repoId);
        assertEq(uint256(old.status), uint256(IRepoEngine.RepoStatus.MIGRATED));
        assertEq(old.collateralAmount, 0);
        assertEq(old.cashMargin, 0);
        assertEq(bondOld - bond.balanceOf(address(engine)), before.collateralAmount, "collateral left");
        assertEq(cashOld - cash.balanceOf(address(engine)), before.cashMargin, "cash margin left");
        assertEq(bond.balanceOf(address(next)) - bondNext, before.collateralAmount, "collateral arrived");
        assertEq(cash.balanceOf(address(next)) - cashNext, before.cashMargin, "cash margin arrived");
        _assertEscrow(engine);
        _assertEscrow(next);
    }

    /// @dev Engine balance == collateral + cash margin of repos still in escrow + claims, per token.
    function _assertEscrow(RepoEngine e) internal view {
        uint256 liveCash;
        uint256 liveBond;
        for (uint256 id = 1; id <= e.repoCount(); ++id) {
            IRepoEngine.Repo memory r = e.getRepo(id);
            liveCash += r.cashMargin;
            if (r.collateralToken == address(bond)) liveBond += r.collateralAmount;
        }
        assertEq(cash.balanceOf(address(e)), liveCash + e.totalClaims(address(cash)), "cash escrow");
        assertEq(bond.balanceOf(address(e)), liveBond + e.totalClaims(address(bond)), "bond escrow");
    }

    // ------------------------------------------------------------------ every state continues its life

    function test_migrate_openTermRepo_repurchasedAtMaturityInSuccessor() public {
        uint256 repoId = _openTermRepo();
        uint64 maturity = engine.getRepo(repoId).maturity;
        _skip(5 days);
        uint256 newId = _migrateAndCheck(repoId);
        assertEq(next.repoCount(), 1);

        vm.warp(maturity);
        uint256 rp = next.repurchasePrice(newId, maturity);
        uint256 buyerCash = cash.balanceOf(buyer);
        uint256 sellerBond = bond.balanceOf(seller);
        vm.prank(seller);
        next.repurchase(newId);
        assertEq(cash.balanceOf(buyer) - buyerCash, rp);
        assertEq(bond.balanceOf(seller) - sellerBond, COLLATERAL);
        assertEq(uint256(next.getRepo(newId).status), uint256(IRepoEngine.RepoStatus.REPURCHASED));
        _assertEscrow(next);
    }

    function test_migrate_openRepo_noticeAndCashMarginCarryOver() public {
        uint256 repoId = _openOpenRepo();
        vm.prank(seller);
        engine.postMargin(repoId, 0, 50_000_00);
        _skip(3 days);
        uint256 newId = _migrateAndCheck(repoId);

        vm.prank(buyer);
        next.terminate(newId);
        _skip(NOTICE);
        uint256 sellerCash = cash.balanceOf(seller);
        uint256 rp = next.repurchasePrice(newId, uint64(block.timestamp));
        vm.prank(seller);
        next.repurchase(newId);
        // The seller pays RP less the cash margin it had posted in the old engine.
        assertEq(sellerCash - cash.balanceOf(seller), rp - 50_000_00);
        _assertEscrow(next);
    }

    function test_migrate_marginCalled_curedInSuccessor() public {
        uint256 repoId = _openTermRepo();
        _setBondPrice(90e18);
        engine.callMargin(repoId);
        IRepoEngine.Repo memory called = engine.getRepo(repoId);
        uint256 newId = _migrateAndCheck(repoId);
        IRepoEngine.Repo memory moved = next.getRepo(newId);
        assertEq(uint256(moved.status), uint256(IRepoEngine.RepoStatus.MARGIN_CALLED));
        assertEq(moved.cureDeadline, called.cureDeadline);

        vm.prank(seller);
        next.postMargin(newId, 0, called.marginCallOutstanding);
        assertEq(uint256(next.getRepo(newId).status), uint256(IRepoEngine.RepoStatus.OPEN));
        _assertEscrow(next);
    }

    function test_migrate_marginCalled_cureLapsesInSuccessor_defaultAndCloseOut() public {
        uint256 repoId = _openTermRepo();
        _setBondPrice(90e18);
        engine.callMargin(repoId);
        uint256 newId = _migrateAndCheck(repoId);

        vm.warp(block.timestamp + CURE + 1);
        _setBondPrice(90e18);
        next.declareDefault(newId);
        uint256 buyerBond = bond.balanceOf(buyer);
        vm.prank(buyer);
        next.closeOut(newId);
        assertEq(uint256(next.getRepo(newId).status), uint256(IRepoEngine.RepoStatus.CLOSED_OUT));
        assertGt(bond.balanceOf(buyer), buyerBond);
        _assertEscrow(next);
    }

    function test_migrate_matured_inGrace_repurchasedInSuccessor() public {
        uint256 repoId = _openTermRepo();
        _skip(TERM + 1); // past maturity, inside the grace period
        uint256 newId = _migrateAndCheck(repoId);
        vm.prank(seller);
        next.repurchase(newId);
        assertEq(uint256(next.getRepo(newId).status), uint256(IRepoEngine.RepoStatus.REPURCHASED));
    }

    function test_migrate_matured_graceRunsOnInSuccessor() public {
        uint256 repoId = _openTermRepo();
        _skip(TERM + 1);
        uint256 newId = _migrateAndCheck(repoId);
        vm.expectRevert(abi.encodeWithSelector(IRepoEngine.RepoNotInDefault.selector, newId));
        next.declareDefault(newId);
        _skip(GRACE);
        next.declareDefault(newId);
        assertEq(uint256(next.getRepo(newId).status), uint256(IRepoEngine.RepoStatus.DEFAULTED));
    }

    function test_consent_refusedWhileTheSellerOwesAShortfallInTheCashToken() public {
        // A repo with cash margin: moved while the seller owes a close-out shortfall here, its margin would come
        // back to the seller through the successor, whose ledger never heard of the debt.
        _refreshPrices();
        uint256 margined = _openOpenRepo();
        vm.prank(seller);
        engine.postMargin(margined, 0, 200_000_00);
        uint256 defaulted = _openTermRepo();
        _skip(TERM + GRACE + 1);
        engine.declareDefault(defaulted);
        _setBondPrice(80e18);
        vm.prank(buyer);
        engine.closeOut(defaulted);
        _refreshPrices();
        uint256 debt = engine.shortfallOf(defaulted);
        assertGt(debt, 0);

        vm.prank(seller);
        _mig(engine).consentMigration(margined, address(next));
        vm.prank(buyer);
        vm.expectRevert(
            abi.encodeWithSelector(
                IRepoMigration.RepoMigrationSellerOwesShortfall.selector, seller, address(cash), debt
            )
        );
        _mig(engine).consentMigration(margined, address(next));

        // Settled (or paid), the repo moves.
        IRepoShortfalls ledger = IRepoShortfalls(address(engine.shortfallLedger()));
        vm.prank(buyer);
        ledger.agreeShortfallSettled(defaulted);
        vm.prank(seller);
        ledger.agreeShortfallSettled(defaulted);
        vm.prank(buyer);
        assertGt(_mig(engine).consentMigration(margined, address(next)), 0);
    }

    function test_migrate_defaulted_closedOutInSuccessor() public {
        uint256 repoId = _openTermRepo();
        _skip(TERM + GRACE + 1);
        engine.declareDefault(repoId);
        uint256 newId = _migrateAndCheck(repoId);
        assertEq(uint256(next.getRepo(newId).status), uint256(IRepoEngine.RepoStatus.DEFAULTED));

        uint256 owed = next.repurchasePrice(newId, uint64(block.timestamp));
        uint256 toHolder = (owed * 1e18 + BOND_PRICE - 1) / BOND_PRICE;
        uint256 buyerBond = bond.balanceOf(buyer);
        vm.prank(buyer);
        next.closeOut(newId);
        assertEq(bond.balanceOf(buyer) - buyerBond, toHolder);
        _assertEscrow(next);
    }

    function test_migrate_rerated_crystallizedPdCarriesOver() public {
        uint256 repoId = _openTermRepo();
        _skip(7 days);
        IRepoEngine.Amendment memory a = _amendment(repoId, uint8(IRepoEngine.AmendmentKind.RERATE), 0, 0.05e18);
        engine.amend(a, _signAmendment(sellerKey, a), _signAmendment(buyerKey, a));
        _skip(3 days);
        uint256 newId = _migrateAndCheck(repoId);
        assertEq(next.getRepo(newId).crystallizedPD, engine.getRepo(repoId).crystallizedPD);
    }

    function test_migrate_couponRecordedBeforeMove_paidToSellerBySuccessor() public {
        uint256 repoId = _openTermRepo();
        _at(RECORD0 + 1); // recorded, not yet paid
        uint256 newId = _migrateAndCheck(repoId);

        vm.expectRevert(abi.encodeWithSelector(IRepoCoupons.RepoCouponNotOwed.selector, repoId, 0, 0));
        vm.prank(agent);
        engine.payCoupon(repoId, 0);

        _at(PAY0);
        uint256 sellerCash = cash.balanceOf(seller);
        vm.prank(agent);
        next.payCoupon(newId, 0);
        assertEq(cash.balanceOf(seller) - sellerCash, COUPON);
    }

    function test_migrate_transferredPosition_needsTheCurrentHolder() public {
        uint256 repoId = _openTermRepo();
        vm.prank(buyer);
        position.transferFrom(buyer, carol, repoId);

        vm.prank(seller);
        _mig(engine).consentMigration(repoId, address(next));
        vm.expectRevert(abi.encodeWithSelector(IRepoEngine.RepoNotSellerOrHolder.selector, repoId, buyer));
        vm.prank(buyer);
        _mig(engine).consentMigration(repoId, address(next));

        vm.prank(carol);
        uint256 newId = _mig(engine).consentMigration(repoId, address(next));
        assertEq(nextPosition.ownerOf(newId), carol);
    }

    /// @dev The position mints without asking the registry, so the import checks the holder (a frozen or lapsed
    /// holder's repo stays in the old engine, where its claims and close-out still work).
    function test_migrate_unverifiedHolder_reverts() public {
        uint256 repoId = _openTermRepo();
        vm.prank(seller);
        _mig(engine).consentMigration(repoId, address(next));
        uint256 identityId = registry.identityOf(buyer);
        vm.prank(admin);
        registry.freezeIdentity(identityId);

        vm.expectRevert(abi.encodeWithSelector(IRepoPosition.RepoPositionHolderNotVerified.selector, buyer));
        vm.prank(buyer);
        _mig(engine).consentMigration(repoId, address(next));
        assertEq(position.ownerOf(repoId), buyer);
        assertEq(next.repoCount(), 0);
    }

    function test_migrate_claimsStayClaimableInTheOldEngine() public {
        // A close-out with a frozen seller leaves a claim in the old engine.
        uint256 defaulted = _openTermRepo();
        uint256 live = _openTermRepo();
        _skip(TERM + GRACE + 1);
        engine.declareDefault(defaulted);
        vm.prank(admin);
        bond.freeze(seller);
        vm.prank(buyer);
        engine.closeOut(defaulted);
        uint256 claim = engine.claimOf(seller, address(bond));
        assertGt(claim, 0);
        vm.prank(admin);
        bond.unfreeze(seller);

        _migrateAndCheck(live);

        uint256 sellerBond = bond.balanceOf(seller);
        vm.prank(seller);
        engine.claim(address(bond));
        assertEq(bond.balanceOf(seller) - sellerBond, claim);
        _assertEscrow(engine);
    }

    function test_migrate_everyState_allMoveAndEscrowsAddUp() public {
        uint256[5] memory ids;
        ids[0] = _openTermRepo(); // open
        ids[1] = _openOpenRepo(); // open repo with cash margin
        vm.prank(seller);
        engine.postMargin(ids[1], 0, 10_000_00);
        ids[2] = _openTermRepo(); // will be margin-called
        ids[3] = _open(_terms(uint64(block.timestamp) + 2 days)); // will mature
        ids[4] = _open(_terms(uint64(block.timestamp) + 1 days)); // will default
        _skip(1 days + GRACE + 1);
        _setBondPrice(90e18);
        engine.callMargin(ids[2]);
        engine.declareDefault(ids[4]);
        for (uint256 i; i < ids.length; ++i) {
            uint256 newId = _migrateAndCheck(ids[i]);
            assertEq(newId, i + 1);
        }
        assertEq(bond.balanceOf(address(engine)), 0);
        assertEq(cash.balanceOf(address(engine)), 0);
    }

    // ------------------------------------------------------------------ what cannot move, and who cannot move it

    function test_consent_revertsForEndedRepos() public {
        uint256 repurchased = _openOpenRepo();
        vm.prank(buyer);
        engine.terminate(repurchased);
        _skip(NOTICE);
        vm.prank(seller);
        engine.repurchase(repurchased);
        vm.expectRevert(
            abi.encodeWithSelector(
                IRepoEngine.RepoInvalidStatus.selector, repurchased, IRepoEngine.RepoStatus.REPURCHASED
            )
        );
        vm.prank(seller);
        _mig(engine).consentMigration(repurchased, address(next));

        uint256 moved = _openTermRepo();
        _migrate(moved);
        vm.expectRevert(
            abi.encodeWithSelector(IRepoEngine.RepoInvalidStatus.selector, moved, IRepoEngine.RepoStatus.MIGRATED)
        );
        vm.prank(seller);
        _mig(engine).consentMigration(moved, address(next));

        vm.expectRevert(abi.encodeWithSelector(IRepoEngine.RepoUnknown.selector, 99));
        vm.prank(seller);
        _mig(engine).consentMigration(99, address(next));
    }

    function test_migrated_oldRepoCannotBeUsed() public {
        uint256 repoId = _openTermRepo();
        _migrate(repoId);
        vm.expectRevert(
            abi.encodeWithSelector(IRepoEngine.RepoInvalidStatus.selector, repoId, IRepoEngine.RepoStatus.MIGRATED)
        );
        vm.prank(seller);
        engine.postMargin(repoId, 0, 1);
        _skip(TERM + GRACE + 1);
        vm.expectRevert(
            abi.encodeWithSelector(IRepoEngine.RepoInvalidStatus.selector, repoId, IRepoEngine.RepoStatus.MIGRATED)
        );
        engine.declareDefault(repoId);
    }

    function test_consent_revertsForOutsiders() public {
        uint256 repoId = _openTermRepo();
        vm.expectRevert(abi.encodeWithSelector(IRepoEngine.RepoNotSellerOrHolder.selector, repoId, carol));
        vm.prank(carol);
        _mig(engine).consentMigration(repoId, address(next));
    }

    function test_consent_revertsForAnEngineTheAdminDidNotName() public {
        uint256 repoId = _openTermRepo();
        RepoEngine rogue = new RepoEngine(registry, oracle, seller);
        vm.expectRevert(
            abi.encodeWithSelector(IRepoMigration.RepoMigrationNotSuccessor.selector, address(rogue), address(next))
        );
        vm.prank(seller);
        _mig(engine).consentMigration(repoId, address(rogue));
    }

    function test_setSuccessor_againVoidsEarlierConsents() public {
        uint256 repoId = _openTermRepo();
        vm.prank(seller);
        _mig(engine).consentMigration(repoId, address(next));
        RepoEngine other = new RepoEngine(registry, oracle, admin);
        vm.prank(admin);
        _mig(engine).setSuccessor(address(other));
        // The holder's consent for `next` is refused, and the seller's no longer counts for `other`.
        vm.expectRevert(
            abi.encodeWithSelector(IRepoMigration.RepoMigrationNotSuccessor.selector, address(next), address(other))
        );
        vm.prank(buyer);
        _mig(engine).consentMigration(repoId, address(next));
        vm.prank(buyer);
        assertEq(_mig(engine).consentMigration(repoId, address(other)), 0);
        assertEq(_mig(engine).migrationConsentOf(repoId, seller), address(next));
        assertEq(uint256(engine.getRepo(repoId).status), uint256(IRepoEngine.RepoStatus.OPEN));
    }

    function test_setSuccessor_revertsForNonAdmin() public {
        vm.expectRevert(
            abi.encodeWithSelector(IAccessControl.AccessControlUnauthorizedAccount.selector, seller, bytes32(0))
        );
        vm.prank(seller);
        _mig(engine).setSuccessor(seller);
        vm.expectRevert(
            abi.encodeWithSelector(IAccessControl.AccessControlUnauthorizedAccount.selector, seller, bytes32(0))
        );
        vm.prank(seller);
        _mig(next).setPredecessor(seller);
        assertEq(_mig(engine).successor(), address(next));
        assertEq(_mig(next).predecessor(), address(engine));
    }

    function test_importRepo_revertsUnlessFromThePredecessor() public {
        bytes32[8] memory words;
        words[0] = bytes32(uint256(uint160(seller)) | (uint256(1) << 160));
        vm.expectRevert(abi.encodeWithSelector(IRepoMigration.RepoMigrationNotPredecessor.selector, seller));
        vm.prank(seller);
        _mig(next).importRepo(1, seller, words);
        assertEq(next.repoCount(), 0);
    }

    function test_extension_revertsWhenCalledDirectly() public {
        RepoMigration extension =
            new RepoMigration(registry, oracle, IRepoPosition(address(position)), engine.shortfallLedger(), 0, 0, 0);
        vm.expectRevert(IRepoMigration.RepoMigrationNotDelegated.selector);
        extension.setSuccessor(seller);
        bytes32[8] memory words;
        vm.expectRevert(IRepoMigration.RepoMigrationNotDelegated.selector);
        extension.importRepo(1, seller, words);
    }

    function test_importRepo_newOpensFollowTheImportedIds() public {
        uint256 repoId = _openTermRepo();
        uint256 newId = _migrate(repoId);
        // Opens in the successor take the next id after imported ones (the counter is shared).
        IRepoEngine.RepoTerms memory t = _terms(uint64(block.timestamp) + TERM);
        uint256 opened = next.open(t, _signNext(sellerKey, t), _signNext(buyerKey, t));
        assertEq(opened, newId + 1);
        assertEq(nextPosition.ownerOf(opened), buyer);
    }

    function _signNext(uint256 key, IRepoEngine.RepoTerms memory t) internal view returns (bytes memory) {
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(key, next.hashTypedData(next.hashTerms(t)));
        return abi.encodePacked(r, s, v);
    }

    /// @dev Random amounts and times: whatever was posted and accrued arrives intact.
    function testFuzz_migrate_termsAndEscrowIntact(uint64 elapsed, uint120 cashMargin, bool called) public {
        elapsed = uint64(bound(elapsed, 0, TERM - 1));
        cashMargin = uint120(bound(cashMargin, 0, 100_000_00));
        uint256 repoId = _openTermRepo();
        if (cashMargin > 0) {
            vm.prank(seller);
            engine.postMargin(repoId, 0, cashMargin);
        }
        _skip(elapsed);
        if (called) {
            _setBondPrice(50e18);
            engine.callMargin(repoId);
        }
        _migrateAndCheck(repoId);
    }

    /// @dev Any state a repo can move in, then the rest of its life in the successor: it ends exactly once, the
    /// holder is paid what the old engine would have owed, and both engines' escrow adds up throughout.
    function testFuzz_migrate_anyStateThenEndsInSuccessor(uint8 state, uint32 elapsed, uint64 cashMargin, bool toRP)
        public
    {
        state = uint8(bound(state, 0, 3));
        elapsed = uint32(bound(elapsed, 1, TERM - 1));
        cashMargin = uint64(bound(cashMargin, 0, 50_000_00));
        uint256 repoId = _openTermRepo();
        uint64 maturity = engine.getRepo(repoId).maturity;
        if (cashMargin > 0) {
            vm.prank(seller);
            engine.postMargin(repoId, 0, cashMargin);
        }
        if (toRP) {
            IRepoEngine.Amendment memory a = _amendment(repoId, uint8(IRepoEngine.AmendmentKind.COUPON_ELECTION), 0, 1);
            engine.amend(a, _signAmendment(sellerKey, a), _signAmendment(buyerKey, a));
        }
        _skip(elapsed);
        if (state == 1) {
            _setBondPrice(50e18);
            engine.callMargin(repoId);
        } else if (state == 2) {
            _skip(TERM - elapsed + 1); // matured, in grace
        } else if (state == 3) {
            _skip(TERM - elapsed + GRACE + 1);
            engine.declareDefault(repoId);
        }
        uint256 newId = _migrateAndCheck(repoId);
        assertEq(next.getRepo(newId).maturity, maturity);

        uint256 buyerCash = cash.balanceOf(buyer);
        if (state == 3) {
            vm.prank(buyer);
            next.closeOut(newId);
            assertEq(uint256(next.getRepo(newId).status), uint256(IRepoEngine.RepoStatus.CLOSED_OUT));
        } else {
            if (block.timestamp < maturity) vm.warp(maturity);
            _refreshPrices();
            uint256 rp = next.repurchasePrice(newId, uint64(block.timestamp));
            vm.prank(seller);
            next.repurchase(newId);
            assertEq(cash.balanceOf(buyer) - buyerCash, rp, "holder paid the repurchase price");
            assertEq(uint256(next.getRepo(newId).status), uint256(IRepoEngine.RepoStatus.REPURCHASED));
        }
        _assertEscrow(engine);
        _assertEscrow(next);
        assertEq(bond.balanceOf(address(next)), next.totalClaims(address(bond)));
    }
}
