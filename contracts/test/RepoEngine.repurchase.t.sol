// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {IERC20Errors} from "@openzeppelin/contracts/interfaces/draft-IERC6093.sol";
import {IRepoEngine} from "../src/interfaces/IRepoEngine.sol";
import {RepoFixture} from "./utils/RepoFixture.sol";

contract RepoEngineRepurchaseTest is RepoFixture {
    function test_repurchase_openRepoPaysRepurchasePriceToHolder() public {
        uint256 repoId = _openOpenRepo();
        _skip(10 days);
        uint256 rp = engine.repurchasePrice(repoId, uint64(block.timestamp));
        uint256 sellerCash = cash.balanceOf(seller);
        uint256 buyerCash = cash.balanceOf(buyer);
        uint256 sellerBond = bond.balanceOf(seller);
        uint256 cashSupply = cash.totalSupply();
        uint256 bondSupply = bond.totalSupply();

        vm.expectEmit(address(engine));
        emit IRepoEngine.RepoRepurchased(repoId, buyer, rp, 0, COLLATERAL, false);
        vm.prank(seller);
        engine.repurchase(repoId);

        assertEq(rp, PP + uint256(_refPD(PP, RATE, 360, 10 days)));
        assertEq(cash.balanceOf(seller), sellerCash - rp);
        assertEq(cash.balanceOf(buyer), buyerCash + rp);
        assertEq(bond.balanceOf(seller), sellerBond + COLLATERAL);
        assertEq(bond.balanceOf(address(engine)), 0);
        assertEq(cash.totalSupply(), cashSupply);
        assertEq(bond.totalSupply(), bondSupply);
        assertEq(position.balanceOf(buyer), 0);
        IRepoEngine.Repo memory r = engine.getRepo(repoId);
        assertEq(uint256(r.status), uint256(IRepoEngine.RepoStatus.REPURCHASED));
        assertEq(r.collateralAmount, 0);
        assertEq(r.cashMargin, 0);
    }

    function test_repurchase_paysCurrentHolder() public {
        uint256 repoId = _openOpenRepo();
        vm.prank(buyer);
        position.transferFrom(buyer, carol, repoId);
        _skip(1 days);
        uint256 rp = engine.repurchasePrice(repoId, uint64(block.timestamp));
        uint256 carolCash = cash.balanceOf(carol);
        uint256 buyerCash = cash.balanceOf(buyer);
        vm.prank(seller);
        engine.repurchase(repoId);
        assertEq(cash.balanceOf(carol), carolCash + rp);
        assertEq(cash.balanceOf(buyer), buyerCash);
    }

    function test_repurchase_termRepoAtMaturity() public {
        uint256 repoId = _openTermRepo();
        _skip(TERM + 1 days);
        uint256 rp = engine.repurchasePrice(repoId, uint64(block.timestamp));
        assertEq(rp, PP + uint256(_refPD(PP, RATE, 360, TERM)), "PD stops at maturity");
        vm.prank(seller);
        engine.repurchase(repoId);
        assertEq(uint256(engine.getRepo(repoId).status), uint256(IRepoEngine.RepoStatus.REPURCHASED));
    }

    function test_repurchase_revertsBeforeMaturity() public {
        uint256 repoId = _openTermRepo();
        uint64 maturity = engine.getRepo(repoId).maturity;
        _skip(TERM - 1);
        vm.expectRevert(abi.encodeWithSelector(IRepoEngine.RepoNotMatured.selector, repoId, maturity));
        vm.prank(seller);
        engine.repurchase(repoId);
    }

    function test_repurchase_revertsIfNotSeller() public {
        uint256 repoId = _openOpenRepo();
        vm.expectRevert(abi.encodeWithSelector(IRepoEngine.RepoNotSeller.selector, repoId, buyer));
        vm.prank(buyer);
        engine.repurchase(repoId);
    }

    function test_repurchase_revertsIfUnknown() public {
        vm.expectRevert(abi.encodeWithSelector(IRepoEngine.RepoUnknown.selector, 5));
        vm.prank(seller);
        engine.repurchase(5);
    }

    function test_repurchase_revertsIfAlreadyRepurchased() public {
        uint256 repoId = _openOpenRepo();
        vm.startPrank(seller);
        engine.repurchase(repoId);
        vm.expectRevert(
            abi.encodeWithSelector(IRepoEngine.RepoInvalidStatus.selector, repoId, IRepoEngine.RepoStatus.REPURCHASED)
        );
        engine.repurchase(repoId);
        vm.stopPrank();
    }

    function test_repurchase_revertsWholeStepIfCashMissing() public {
        uint256 repoId = _openOpenRepo();
        _skip(1 days);
        vm.prank(seller);
        cash.approve(address(engine), 1);
        uint256 rp = engine.repurchasePrice(repoId, uint64(block.timestamp));
        vm.expectRevert(
            abi.encodeWithSelector(IERC20Errors.ERC20InsufficientAllowance.selector, address(engine), 1, rp)
        );
        vm.prank(seller);
        engine.repurchase(repoId);
        assertEq(bond.balanceOf(address(engine)), COLLATERAL);
        assertEq(position.ownerOf(repoId), buyer);
        assertEq(uint256(engine.getRepo(repoId).status), uint256(IRepoEngine.RepoStatus.OPEN));
    }

    function test_repurchase_appliesCashMarginAgainstPrice() public {
        uint256 repoId = _openOpenRepo();
        vm.prank(seller);
        engine.postMargin(repoId, 0, 5_000_00);
        _skip(1 days);
        uint256 rp = engine.repurchasePrice(repoId, uint64(block.timestamp));
        uint256 sellerCash = cash.balanceOf(seller);
        uint256 buyerCash = cash.balanceOf(buyer);
        vm.expectEmit(address(engine));
        emit IRepoEngine.RepoRepurchased(repoId, buyer, rp, 5_000_00, COLLATERAL, false);
        vm.prank(seller);
        engine.repurchase(repoId);
        assertEq(cash.balanceOf(buyer), buyerCash + rp);
        assertEq(cash.balanceOf(seller), sellerCash - (rp - 5_000_00));
        assertEq(cash.balanceOf(address(engine)), 0);
    }

    function test_repurchase_returnsCashMarginAboveRepurchasePrice() public {
        IRepoEngine.RepoTerms memory t = _terms(0);
        t.purchasePrice = 100_00;
        uint256 repoId = _open(t);
        vm.prank(seller);
        engine.postMargin(repoId, 0, 500_00);
        uint256 rp = engine.repurchasePrice(repoId, uint64(block.timestamp));
        uint256 sellerCash = cash.balanceOf(seller);
        uint256 buyerCash = cash.balanceOf(buyer);
        vm.prank(seller);
        engine.repurchase(repoId);
        assertEq(cash.balanceOf(buyer), buyerCash + rp);
        assertEq(cash.balanceOf(seller), sellerCash + 500_00 - rp);
        assertEq(cash.balanceOf(address(engine)), 0);
    }

    function test_repurchase_allowedWhenMarginCalled() public {
        uint256 repoId = _openOpenRepo();
        _setBondPrice(90e18);
        engine.callMargin(repoId);
        vm.prank(seller);
        engine.repurchase(repoId);
        assertEq(uint256(engine.getRepo(repoId).status), uint256(IRepoEngine.RepoStatus.REPURCHASED));
    }

    function test_repurchase_revertsIfDefaulted() public {
        uint256 repoId = _openTermRepo();
        _skip(TERM + GRACE + 1);
        engine.declareDefault(repoId);
        vm.expectRevert(
            abi.encodeWithSelector(IRepoEngine.RepoInvalidStatus.selector, repoId, IRepoEngine.RepoStatus.DEFAULTED)
        );
        vm.prank(seller);
        engine.repurchase(repoId);
    }

    function test_repurchase_afterMaturityWithinGraceStillAllowed() public {
        uint256 repoId = _openTermRepo();
        _skip(TERM + GRACE);
        vm.prank(seller);
        engine.repurchase(repoId);
        assertEq(uint256(engine.getRepo(repoId).status), uint256(IRepoEngine.RepoStatus.REPURCHASED));
    }

    function test_repurchaseEarly_withHolderConsent() public {
        uint256 repoId = _openTermRepo();
        _skip(5 days);
        uint64 deadline = uint64(block.timestamp + 1 hours);
        bytes memory sig = _signEarly(buyerKey, repoId, 77, deadline);
        uint256 rp = engine.repurchasePrice(repoId, uint64(block.timestamp));
        uint256 buyerCash = cash.balanceOf(buyer);
        vm.expectEmit(address(engine));
        emit IRepoEngine.RepoRepurchased(repoId, buyer, rp, 0, COLLATERAL, true);
        vm.prank(seller);
        engine.repurchaseEarly(repoId, sig, 77, deadline);
        assertEq(cash.balanceOf(buyer), buyerCash + rp);
        assertEq(rp, PP + uint256(_refPD(PP, RATE, 360, 5 days)));
        assertTrue(engine.nonceUsed(buyer, 77));
    }

    function test_repurchaseEarly_needsCurrentHolderSignature() public {
        uint256 repoId = _openTermRepo();
        vm.prank(buyer);
        position.transferFrom(buyer, carol, repoId);
        uint64 deadline = uint64(block.timestamp + 1 hours);
        bytes memory oldHolderSig = _signEarly(buyerKey, repoId, 901, deadline);
        vm.expectRevert(abi.encodeWithSelector(IRepoEngine.RepoInvalidSignature.selector, carol));
        vm.prank(seller);
        engine.repurchaseEarly(repoId, oldHolderSig, 901, deadline);

        bytes memory sig = _signEarly(carolKey, repoId, 901, deadline);
        vm.prank(seller);
        engine.repurchaseEarly(repoId, sig, 901, deadline);
    }

    function test_repurchaseEarly_acceptsErc1271Holder() public {
        uint256 repoId = _openTermRepo();
        vm.prank(buyer);
        position.transferFrom(buyer, address(wallet), repoId);
        uint64 deadline = uint64(block.timestamp + 1 hours);
        bytes memory sig = _signEarly(walletOwnerKey, repoId, 901, deadline);
        vm.prank(seller);
        engine.repurchaseEarly(repoId, sig, 901, deadline);
        assertEq(uint256(engine.getRepo(repoId).status), uint256(IRepoEngine.RepoStatus.REPURCHASED));
    }

    function test_repurchaseEarly_revertsIfExpired() public {
        uint256 repoId = _openTermRepo();
        uint64 deadline = uint64(block.timestamp + 1 hours);
        bytes memory sig = _signEarly(buyerKey, repoId, 901, deadline);
        _skip(1 hours + 1);
        vm.expectRevert(abi.encodeWithSelector(IRepoEngine.RepoExpired.selector, deadline));
        vm.prank(seller);
        engine.repurchaseEarly(repoId, sig, 901, deadline);
    }

    function test_repurchaseEarly_revertsIfNonceUsed() public {
        uint256 repoId = _openTermRepo();
        uint64 deadline = uint64(block.timestamp + 1 hours);
        bytes memory sig = _signEarly(buyerKey, repoId, 901, deadline);
        vm.prank(buyer);
        engine.cancelNonce(901);
        vm.expectRevert(abi.encodeWithSelector(IRepoEngine.RepoNonceUsed.selector, buyer, 901));
        vm.prank(seller);
        engine.repurchaseEarly(repoId, sig, 901, deadline);
    }

    function test_repurchaseEarly_revertsIfSignatureForOtherRepo() public {
        uint256 repoId = _openTermRepo();
        uint64 deadline = uint64(block.timestamp + 1 hours);
        bytes memory sig = _signEarly(buyerKey, repoId + 1, 901, deadline);
        vm.expectRevert(abi.encodeWithSelector(IRepoEngine.RepoInvalidSignature.selector, buyer));
        vm.prank(seller);
        engine.repurchaseEarly(repoId, sig, 901, deadline);
    }

    function test_repurchaseEarly_revertsIfNotSeller() public {
        uint256 repoId = _openTermRepo();
        uint64 deadline = uint64(block.timestamp + 1 hours);
        bytes memory sig = _signEarly(buyerKey, repoId, 901, deadline);
        vm.expectRevert(abi.encodeWithSelector(IRepoEngine.RepoNotSeller.selector, repoId, carol));
        vm.prank(carol);
        engine.repurchaseEarly(repoId, sig, 901, deadline);
    }

    function test_repurchaseEarly_revertsIfNotLive() public {
        uint256 repoId = _openOpenRepo();
        vm.prank(seller);
        engine.repurchase(repoId);
        vm.expectRevert(
            abi.encodeWithSelector(IRepoEngine.RepoInvalidStatus.selector, repoId, IRepoEngine.RepoStatus.REPURCHASED)
        );
        vm.prank(seller);
        engine.repurchaseEarly(repoId, "", 901, uint64(block.timestamp));
    }

    function test_repurchaseEarly_revertsIfUnknown() public {
        vm.expectRevert(abi.encodeWithSelector(IRepoEngine.RepoUnknown.selector, 6));
        vm.prank(seller);
        engine.repurchaseEarly(6, "", 1, uint64(block.timestamp));
    }

    function testFuzz_repurchase_conservesSupplyAndPaysReference(uint256 pp, int256 rate, uint256 elapsed) public {
        pp = bound(pp, 1, 50_000_000_00);
        rate = bound(rate, -0.1e18, 0.2e18);
        elapsed = bound(elapsed, 0, 300 days);
        IRepoEngine.RepoTerms memory t = _terms(0);
        t.purchasePrice = pp;
        t.rate = rate;
        uint256 repoId = _open(t);
        vm.warp(block.timestamp + elapsed);
        uint256 cashSupply = cash.totalSupply();
        uint256 bondSupply = bond.totalSupply();
        uint256 buyerCash = cash.balanceOf(buyer);
        vm.prank(seller);
        engine.repurchase(repoId);
        int256 expected = int256(pp) + _refPD(pp, rate, 360, elapsed);
        assertEq(cash.balanceOf(buyer) - buyerCash, expected > 0 ? uint256(expected) : 0);
        assertEq(cash.totalSupply(), cashSupply);
        assertEq(bond.totalSupply(), bondSupply);
        assertEq(bond.balanceOf(address(engine)), 0);
    }
}
