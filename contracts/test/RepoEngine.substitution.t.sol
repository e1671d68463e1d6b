// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {IRepoEngine} from "../src/interfaces/IRepoEngine.sol";
import {RepoFixture} from "./utils/RepoFixture.sol";

/// @dev bond2 is priced 101 cents a unit: N units are worth floor(N × 101) × 0.98 after the 2% haircut.
contract RepoEngineSubstitutionTest is RepoFixture {
    uint256 internal constant NEW_AMOUNT = 1_020_000;
    uint256 internal constant NONCE = 5_000;

    function _substitute(uint256 repoId, address token, uint256 amount) internal {
        uint64 deadline = uint64(block.timestamp + 1 hours);
        bytes memory sig = _signSubstitution(buyerKey, repoId, token, amount, NONCE, deadline);
        vm.prank(seller);
        engine.substitute(repoId, token, amount, sig, NONCE, deadline);
    }

    function _expectSubstituteRevert(uint256 repoId, address token, uint256 amount, bytes memory err) internal {
        uint64 deadline = uint64(block.timestamp + 1 hours);
        bytes memory sig = _signSubstitution(buyerKey, repoId, token, amount, NONCE, deadline);
        vm.expectRevert(err);
        vm.prank(seller);
        engine.substitute(repoId, token, amount, sig, NONCE, deadline);
    }

    function test_substitute_swapsCollateralAtomically() public {
        uint256 repoId = _openOpenRepo();
        uint256 sellerBond = bond.balanceOf(seller);
        uint256 sellerBond2 = bond2.balanceOf(seller);
        vm.expectEmit(address(engine));
        emit IRepoEngine.CollateralSubstituted(repoId, address(bond), COLLATERAL, address(bond2), NEW_AMOUNT);
        _substitute(repoId, address(bond2), NEW_AMOUNT);
        assertEq(bond.balanceOf(seller), sellerBond + COLLATERAL);
        assertEq(bond2.balanceOf(seller), sellerBond2 - NEW_AMOUNT);
        assertEq(bond.balanceOf(address(engine)), 0);
        assertEq(bond2.balanceOf(address(engine)), NEW_AMOUNT);
        IRepoEngine.Repo memory r = engine.getRepo(repoId);
        assertEq(r.collateralToken, address(bond2));
        assertEq(r.collateralAmount, NEW_AMOUNT);
        assertTrue(engine.nonceUsed(buyer, NONCE));
        assertEq(engine.collateralValue(repoId), 100_959_600);
    }

    function test_substitute_repurchaseReturnsNewCollateral() public {
        uint256 repoId = _openOpenRepo();
        _substitute(repoId, address(bond2), NEW_AMOUNT);
        uint256 sellerBond2 = bond2.balanceOf(seller);
        vm.prank(seller);
        engine.repurchase(repoId);
        assertEq(bond2.balanceOf(seller), sellerBond2 + NEW_AMOUNT);
        assertEq(bond2.balanceOf(address(engine)), 0);
    }

    function test_substitute_sameTokenDifferentAmount() public {
        uint256 repoId = _openOpenRepo();
        _substitute(repoId, address(bond), 1_040_000);
        assertEq(bond.balanceOf(address(engine)), 1_040_000);
        assertEq(engine.getRepo(repoId).collateralAmount, 1_040_000);
    }

    function test_substitute_revertsIfUndercollateralized() public {
        uint256 repoId = _openOpenRepo();
        _expectSubstituteRevert(
            repoId,
            address(bond2),
            1_000_000,
            abi.encodeWithSelector(IRepoEngine.RepoSubstitutionUndercollateralized.selector, repoId, 98_980_000, PP)
        );
    }

    function test_substitute_countsCashMargin() public {
        uint256 repoId = _openOpenRepo();
        vm.prank(seller);
        engine.postMargin(repoId, 0, 1_020_000);
        _substitute(repoId, address(bond2), 1_000_000);
        assertEq(engine.getRepo(repoId).collateralAmount, 1_000_000);
        assertEq(engine.exposure(repoId), int256(0));
    }

    function test_substitute_revertsWithoutPriceForNewCollateral() public {
        uint256 repoId = _openOpenRepo();
        _expectSubstituteRevert(
            repoId,
            address(cash),
            1,
            abi.encodeWithSignature("PriceMissing(address,address)", address(cash), address(cash))
        );
    }

    function test_substitute_revertsIfNotSeller() public {
        uint256 repoId = _openOpenRepo();
        uint64 deadline = uint64(block.timestamp + 1 hours);
        bytes memory sig = _signSubstitution(buyerKey, repoId, address(bond2), NEW_AMOUNT, NONCE, deadline);
        vm.expectRevert(abi.encodeWithSelector(IRepoEngine.RepoNotSeller.selector, repoId, buyer));
        vm.prank(buyer);
        engine.substitute(repoId, address(bond2), NEW_AMOUNT, sig, NONCE, deadline);
    }

    function test_substitute_revertsIfMarginCalled() public {
        uint256 repoId = _openOpenRepo();
        _setBondPrice(90e18);
        engine.callMargin(repoId);
        _expectSubstituteRevert(
            repoId,
            address(bond2),
            NEW_AMOUNT,
            abi.encodeWithSelector(IRepoEngine.RepoInvalidStatus.selector, repoId, IRepoEngine.RepoStatus.MARGIN_CALLED)
        );
    }

    function test_substitute_revertsIfUnknown() public {
        _expectSubstituteRevert(
            7, address(bond2), NEW_AMOUNT, abi.encodeWithSelector(IRepoEngine.RepoUnknown.selector, 7)
        );
    }

    function test_substitute_revertsIfTokenZero() public {
        uint256 repoId = _openOpenRepo();
        _expectSubstituteRevert(
            repoId, address(0), NEW_AMOUNT, abi.encodeWithSelector(IRepoEngine.RepoInvalidToken.selector, address(0))
        );
    }

    function test_substitute_revertsIfAmountZero() public {
        uint256 repoId = _openOpenRepo();
        _expectSubstituteRevert(repoId, address(bond2), 0, abi.encodeWithSelector(IRepoEngine.RepoZeroAmount.selector));
    }

    function test_substitute_revertsIfExpired() public {
        uint256 repoId = _openOpenRepo();
        uint64 deadline = uint64(block.timestamp + 1 hours);
        bytes memory sig = _signSubstitution(buyerKey, repoId, address(bond2), NEW_AMOUNT, NONCE, deadline);
        _skip(1 hours + 1);
        vm.expectRevert(abi.encodeWithSelector(IRepoEngine.RepoExpired.selector, deadline));
        vm.prank(seller);
        engine.substitute(repoId, address(bond2), NEW_AMOUNT, sig, NONCE, deadline);
    }

    function test_substitute_revertsIfNonceUsed() public {
        uint256 repoId = _openOpenRepo();
        vm.prank(buyer);
        engine.cancelNonce(NONCE);
        _expectSubstituteRevert(
            repoId, address(bond2), NEW_AMOUNT, abi.encodeWithSelector(IRepoEngine.RepoNonceUsed.selector, buyer, NONCE)
        );
    }

    function test_substitute_revertsIfSignedByNonHolder() public {
        uint256 repoId = _openOpenRepo();
        uint64 deadline = uint64(block.timestamp + 1 hours);
        bytes memory sig = _signSubstitution(carolKey, repoId, address(bond2), NEW_AMOUNT, NONCE, deadline);
        vm.expectRevert(abi.encodeWithSelector(IRepoEngine.RepoInvalidSignature.selector, buyer));
        vm.prank(seller);
        engine.substitute(repoId, address(bond2), NEW_AMOUNT, sig, NONCE, deadline);
    }

    function test_substitute_revertsIfAmountDiffersFromSigned() public {
        uint256 repoId = _openOpenRepo();
        uint64 deadline = uint64(block.timestamp + 1 hours);
        bytes memory sig = _signSubstitution(buyerKey, repoId, address(bond2), NEW_AMOUNT, NONCE, deadline);
        vm.expectRevert(abi.encodeWithSelector(IRepoEngine.RepoInvalidSignature.selector, buyer));
        vm.prank(seller);
        engine.substitute(repoId, address(bond2), NEW_AMOUNT + 1, sig, NONCE, deadline);
    }

    function test_substitute_revertsWholeStepIfNewCollateralMissing() public {
        uint256 repoId = _openOpenRepo();
        vm.prank(seller);
        bond2.approve(address(engine), 0);
        uint64 deadline = uint64(block.timestamp + 1 hours);
        bytes memory sig = _signSubstitution(buyerKey, repoId, address(bond2), NEW_AMOUNT, NONCE, deadline);
        vm.expectRevert();
        vm.prank(seller);
        engine.substitute(repoId, address(bond2), NEW_AMOUNT, sig, NONCE, deadline);
        assertEq(bond.balanceOf(address(engine)), COLLATERAL);
        assertEq(engine.getRepo(repoId).collateralToken, address(bond));
        assertFalse(engine.nonceUsed(buyer, NONCE));
    }
}
