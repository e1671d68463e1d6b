// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {IAccessControl} from "@openzeppelin/contracts/access/IAccessControl.sol";
import {IPermissionedToken} from "../src/interfaces/IPermissionedToken.sol";
import {IRepoClaims} from "../src/interfaces/IRepoClaims.sol";
import {IRepoEngine} from "../src/interfaces/IRepoEngine.sol";
import {RepoFixture} from "./utils/RepoFixture.sol";

/// @notice Nobody trapped: a payment to a party that cannot receive it becomes that party's claim, so the other
/// party's repurchase, close-out and margin return always complete; the claim is collected once the party is
/// verified again, or paid by court order.
contract RepoEngineClaimsTest is RepoFixture {
    bytes32 internal constant ORDER = keccak256("court order 2026/17");

    function _freeze(address who) internal {
        vm.startPrank(admin);
        cash.freeze(who);
        bond.freeze(who);
        vm.stopPrank();
    }

    function _unfreeze(address who) internal {
        vm.startPrank(admin);
        cash.unfreeze(who);
        bond.unfreeze(who);
        vm.stopPrank();
    }

    /// @dev Compliance suspends `who`'s identity (as for lapsed KYC): its wallets stop being verified.
    function _suspend(address who) internal returns (uint256 identityId) {
        identityId = registry.identityOf(who);
        vm.prank(admin);
        registry.freezeIdentity(identityId);
    }

    function _defaulted() internal returns (uint256 repoId) {
        repoId = _openTermRepo();
        _skip(TERM + GRACE + 1);
        engine.declareDefault(repoId);
    }

    /// @dev Engine balance == live collateral + cash margin + claims, per token (the extended escrow invariant).
    function _assertEscrow() internal view {
        uint256 liveCash;
        uint256 liveBond;
        for (uint256 id = 1; id <= engine.repoCount(); ++id) {
            IRepoEngine.Repo memory r = engine.getRepo(id);
            if (r.status == IRepoEngine.RepoStatus.REPURCHASED || r.status == IRepoEngine.RepoStatus.CLOSED_OUT) {
                continue;
            }
            liveCash += r.cashMargin;
            liveBond += r.collateralAmount;
        }
        assertEq(cash.balanceOf(address(engine)), liveCash + engine.totalClaims(address(cash)));
        assertEq(bond.balanceOf(address(engine)), liveBond + engine.totalClaims(address(bond)));
    }

    // ------------------------------------------------------------------ close-out with a frozen seller

    function test_closeOut_frozenSeller_completesAndExcessIsClaimable() public {
        uint256 repoId = _defaulted();
        _freeze(seller);
        uint256 owed = engine.repurchasePrice(repoId, uint64(block.timestamp));
        uint256 toHolder = (owed * 1e18 + BOND_PRICE - 1) / BOND_PRICE;
        uint256 excess = COLLATERAL - toHolder;
        uint256 buyerBefore = bond.balanceOf(buyer);

        vm.expectEmit(address(engine));
        emit IRepoClaims.ClaimCredited(seller, address(bond), repoId, excess);
        vm.prank(buyer);
        engine.closeOut(repoId);

        assertEq(uint256(engine.getRepo(repoId).status), uint256(IRepoEngine.RepoStatus.CLOSED_OUT));
        assertEq(bond.balanceOf(buyer) - buyerBefore, toHolder, "holder got its collateral");
        assertEq(engine.claimOf(seller, address(bond)), excess);
        assertEq(engine.totalClaims(address(bond)), excess);
        _assertEscrow();

        // Still frozen: claiming reverts and changes nothing.
        vm.expectRevert(abi.encodeWithSelector(IPermissionedToken.TokenAccountFrozen.selector, seller));
        vm.prank(seller);
        engine.claim(address(bond));
        assertEq(engine.claimOf(seller, address(bond)), excess);

        _unfreeze(seller);
        uint256 sellerBefore = bond.balanceOf(seller);
        vm.expectEmit(address(engine));
        emit IRepoClaims.ClaimPaid(seller, address(bond), excess);
        vm.prank(seller);
        engine.claim(address(bond));
        assertEq(bond.balanceOf(seller) - sellerBefore, excess);
        assertEq(engine.claimOf(seller, address(bond)), 0);
        assertEq(engine.totalClaims(address(bond)), 0);
        _assertEscrow();
    }

    function test_closeOut_frozenSeller_cashMarginExcessIsClaimable() public {
        uint256 repoId = _openTermRepo();
        vm.prank(seller);
        engine.postMargin(repoId, 0, 2 * PP); // more cash margin than RP: the excess goes back to the seller
        _skip(TERM + GRACE + 1);
        engine.declareDefault(repoId);
        _freeze(seller);
        uint256 owed = engine.repurchasePrice(repoId, uint64(block.timestamp));
        vm.prank(buyer);
        engine.closeOut(repoId);
        assertEq(engine.claimOf(seller, address(cash)), 2 * PP - owed);
        assertEq(engine.claimOf(seller, address(bond)), COLLATERAL);
        _assertEscrow();
    }

    // ------------------------------------------------------------------ repurchase to a holder who lapsed

    function test_repurchase_holderSuspended_cashIsCreditedToHolder() public {
        uint256 repoId = _openTermRepo();
        _skip(TERM);
        uint256 rp = engine.repurchasePrice(repoId, uint64(block.timestamp));
        uint256 identityId = _suspend(buyer);
        uint256 sellerCash = cash.balanceOf(seller);

        vm.expectEmit(address(engine));
        emit IRepoClaims.ClaimCredited(buyer, address(cash), repoId, rp);
        vm.prank(seller);
        engine.repurchase(repoId);

        assertEq(uint256(engine.getRepo(repoId).status), uint256(IRepoEngine.RepoStatus.REPURCHASED));
        assertEq(sellerCash - cash.balanceOf(seller), rp, "the seller paid RP once");
        assertEq(bond.balanceOf(seller), 100_000_000, "the seller has its collateral back");
        assertEq(engine.claimOf(buyer, address(cash)), rp);
        _assertEscrow();

        vm.expectRevert(abi.encodeWithSelector(IPermissionedToken.TokenAccountNotVerified.selector, buyer));
        vm.prank(buyer);
        engine.claim(address(cash));

        vm.prank(admin);
        registry.unfreezeIdentity(identityId); // verified again
        uint256 before = cash.balanceOf(buyer);
        vm.prank(buyer);
        engine.claim(address(cash));
        assertEq(cash.balanceOf(buyer) - before, rp);
        _assertEscrow();
    }

    function test_repurchase_sellerCannotReceiveCollateral_stillCompletes() public {
        uint256 repoId = _openTermRepo();
        _skip(TERM);
        vm.prank(admin);
        bond.freeze(seller); // frozen on the bond only: the seller can still pay cash
        vm.prank(seller);
        engine.repurchase(repoId);
        assertEq(engine.claimOf(seller, address(bond)), COLLATERAL);
        _assertEscrow();
    }

    function test_repurchase_frozenSellerStillCannotPay() public {
        uint256 repoId = _openTermRepo();
        _skip(TERM);
        _freeze(seller);
        vm.expectRevert(abi.encodeWithSelector(IPermissionedToken.TokenAccountFrozen.selector, seller));
        vm.prank(seller);
        engine.repurchase(repoId);
    }

    // ------------------------------------------------------------------ court order

    function test_forceClaim_paysDesignatedAccount() public {
        uint256 repoId = _defaulted();
        _freeze(seller);
        vm.prank(buyer);
        engine.closeOut(repoId);
        uint256 amount = engine.claimOf(seller, address(bond));
        assertGt(amount, 0);

        vm.expectEmit(address(engine));
        emit IRepoClaims.ClaimForced(seller, address(bond), carol, amount, ORDER);
        vm.prank(admin);
        engine.forceClaim(seller, address(bond), carol, ORDER);
        assertEq(bond.balanceOf(carol), 100_000_000 + amount);
        assertEq(engine.claimOf(seller, address(bond)), 0);
        _assertEscrow();
    }

    function test_forceClaim_revertsWithoutRole() public {
        vm.expectRevert(
            abi.encodeWithSelector(
                IAccessControl.AccessControlUnauthorizedAccount.selector, carol, engine.COURT_ORDER_ROLE()
            )
        );
        vm.prank(carol);
        engine.forceClaim(seller, address(bond), carol, ORDER);
    }

    function test_forceClaim_revertsWithoutOrderRefOrRecipient() public {
        vm.startPrank(admin);
        vm.expectRevert(IRepoClaims.RepoInvalidCourtOrder.selector);
        engine.forceClaim(seller, address(bond), carol, bytes32(0));
        vm.expectRevert(IRepoClaims.RepoInvalidCourtOrder.selector);
        engine.forceClaim(seller, address(bond), address(0), ORDER);
        vm.stopPrank();
    }

    function test_claim_revertsWithoutClaim() public {
        vm.expectRevert(abi.encodeWithSelector(IRepoClaims.RepoNoClaim.selector, seller, address(cash)));
        vm.prank(seller);
        engine.claim(address(cash));
    }

    // ------------------------------------------------------------------ fuzz

    /// @dev Whoever of the two is frozen, the holder's close-out completes and escrow + claims stay exact.
    function testFuzz_closeOut_neverBlockedBySeller(uint256 price, bool freezeSeller, bool suspendSeller) public {
        uint256 repoId = _openTermRepo();
        _skip(TERM + GRACE + 1);
        _setBondPrice(bound(price, 50e18, 150e18));
        engine.declareDefault(repoId);
        if (freezeSeller) _freeze(seller);
        if (suspendSeller) _suspend(seller);
        vm.prank(buyer);
        engine.closeOut(repoId);
        assertEq(uint256(engine.getRepo(repoId).status), uint256(IRepoEngine.RepoStatus.CLOSED_OUT));
        _assertEscrow();
    }
}
