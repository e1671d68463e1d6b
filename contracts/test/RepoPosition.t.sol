// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {IERC721Errors} from "@openzeppelin/contracts/interfaces/draft-IERC6093.sol";
import {IRepoEngine} from "../src/interfaces/IRepoEngine.sol";
import {IRepoPosition} from "../src/interfaces/IRepoPosition.sol";
import {RepoFixture} from "./utils/RepoFixture.sol";

contract RepoPositionTest is RepoFixture {
    function test_metadata() public view {
        assertEq(position.name(), "RepoNet Repo Position");
        assertEq(position.symbol(), "REPOPOS");
        assertEq(position.engine(), address(engine));
        assertEq(address(position.registry()), address(registry));
    }

    function test_mint_revertsIfNotEngine() public {
        vm.expectRevert(abi.encodeWithSelector(IRepoPosition.RepoPositionUnauthorized.selector, admin));
        vm.prank(admin);
        position.mint(buyer, seller, 1);
    }

    function test_burn_revertsIfNotEngine() public {
        uint256 repoId = _openOpenRepo();
        vm.expectRevert(abi.encodeWithSelector(IRepoPosition.RepoPositionUnauthorized.selector, buyer));
        vm.prank(buyer);
        position.burn(buyer, repoId);
    }

    /// @dev The engine verifies a position's first holder itself (open: RepoEngine.open.t.sol, RepoPartyNotVerified;
    /// import: RepoEngine.migration.t.sol) and keeps the holder: a mint counts the balance and emits, and who owns
    /// the position is the engine's answer (no repo 77 here, so no owner).
    function test_mint_countsTheBalance_ownerComesFromTheEngine() public {
        vm.prank(address(engine));
        position.mint(outsider, seller, 77);
        assertEq(position.balanceOf(outsider), 1);
        vm.expectRevert(abi.encodeWithSelector(IERC721Errors.ERC721NonexistentToken.selector, 77));
        position.ownerOf(77);
    }

    function test_ownerOf_isTheEnginesHolder() public {
        uint256 repoId = _openOpenRepo();
        assertEq(position.ownerOf(repoId), buyer);
        assertEq(engine.positionHolder(repoId), buyer);
        assertEq(engine.getRepo(repoId).buyer, buyer);
        assertEq(position.balanceOf(buyer), 1);
    }

    function test_transferFrom_movesTheHolderInTheEngine() public {
        uint256 repoId = _openOpenRepo();
        vm.prank(buyer);
        position.transferFrom(buyer, carol, repoId);
        assertEq(engine.positionHolder(repoId), carol);
        assertEq(engine.getRepo(repoId).buyer, carol);
        assertEq(position.balanceOf(buyer), 0);
        assertEq(position.balanceOf(carol), 1);
    }

    function test_getRepoBuyer_staysTheLastHolderAfterBurn() public {
        uint256 repoId = _openOpenRepo();
        vm.prank(buyer);
        position.transferFrom(buyer, carol, repoId);
        vm.prank(seller);
        engine.repurchase(repoId);
        assertEq(engine.positionHolder(repoId), address(0));
        assertEq(engine.getRepo(repoId).buyer, carol);
        assertEq(position.balanceOf(carol), 0);
    }

    function test_movePosition_revertsIfNotPosition() public {
        uint256 repoId = _openOpenRepo();
        vm.expectRevert(abi.encodeWithSelector(IRepoPosition.RepoPositionUnauthorized.selector, buyer));
        vm.prank(buyer);
        engine.movePosition(repoId, carol);
    }

    function test_approvePosition_revertsIfNotPosition() public {
        uint256 repoId = _openOpenRepo();
        vm.expectRevert(abi.encodeWithSelector(IRepoPosition.RepoPositionUnauthorized.selector, buyer));
        vm.prank(buyer);
        engine.approvePosition(repoId);
    }

    function test_approve_letsTheApprovedMove_andTheTransferClearsIt() public {
        uint256 repoId = _openOpenRepo();
        vm.prank(buyer);
        position.approve(carol, repoId);
        assertEq(position.getApproved(repoId), carol);
        vm.prank(carol);
        position.transferFrom(buyer, carol, repoId);
        assertEq(position.ownerOf(repoId), carol);
        assertEq(position.getApproved(repoId), address(0));
    }

    /// @dev The owner moves it itself: the approval it gave must still end (the engine's flag makes the transfer
    /// read and clear it).
    function test_approve_isClearedByTheOwnersOwnTransfer() public {
        uint256 repoId = _openOpenRepo();
        vm.prank(buyer);
        position.approve(seller, repoId);
        vm.prank(buyer);
        position.transferFrom(buyer, carol, repoId);
        assertEq(position.getApproved(repoId), address(0));
        vm.expectRevert(abi.encodeWithSelector(IERC721Errors.ERC721InsufficientApproval.selector, seller, repoId));
        vm.prank(seller);
        position.transferFrom(carol, seller, repoId);
    }

    function test_approve_revertsIfNotOwnerOrOperator() public {
        uint256 repoId = _openOpenRepo();
        vm.expectRevert(abi.encodeWithSelector(IERC721Errors.ERC721InvalidApprover.selector, carol));
        vm.prank(carol);
        position.approve(carol, repoId);
    }

    function test_operator_mayMove() public {
        uint256 repoId = _openOpenRepo();
        vm.prank(buyer);
        position.setApprovalForAll(carol, true);
        assertTrue(position.isApprovedForAll(buyer, carol));
        vm.prank(carol);
        position.transferFrom(buyer, carol, repoId);
        assertEq(position.ownerOf(repoId), carol);
    }

    function test_transferFrom_revertsIfFromIsNotTheOwner() public {
        uint256 repoId = _openOpenRepo();
        vm.expectRevert(abi.encodeWithSelector(IERC721Errors.ERC721IncorrectOwner.selector, carol, repoId, buyer));
        vm.prank(buyer);
        position.transferFrom(carol, seller, repoId);
    }

    function test_transferFrom_revertsForUnknownPosition() public {
        vm.expectRevert(abi.encodeWithSelector(IERC721Errors.ERC721NonexistentToken.selector, 42));
        vm.prank(buyer);
        position.transferFrom(buyer, carol, 42);
    }

    function test_transferFrom_toVerified() public {
        uint256 repoId = _openOpenRepo();
        vm.prank(buyer);
        position.transferFrom(buyer, carol, repoId);
        assertEq(position.ownerOf(repoId), carol);
    }

    function test_transferFrom_revertsIfRecipientNotVerified() public {
        uint256 repoId = _openOpenRepo();
        vm.expectRevert(abi.encodeWithSelector(IRepoPosition.RepoPositionHolderNotVerified.selector, outsider));
        vm.prank(buyer);
        position.transferFrom(buyer, outsider, repoId);
    }

    function test_safeTransferFrom_revertsIfRecipientNotVerified() public {
        uint256 repoId = _openOpenRepo();
        vm.expectRevert(abi.encodeWithSelector(IRepoPosition.RepoPositionHolderNotVerified.selector, outsider));
        vm.prank(buyer);
        position.safeTransferFrom(buyer, outsider, repoId);
    }

    function test_transferFrom_revertsIfSenderFrozen() public {
        uint256 repoId = _openOpenRepo();
        uint256 identityId = registry.identityOf(buyer);
        vm.prank(admin);
        registry.freezeIdentity(identityId);
        vm.expectRevert(abi.encodeWithSelector(IRepoPosition.RepoPositionHolderNotVerified.selector, buyer));
        vm.prank(buyer);
        position.transferFrom(buyer, carol, repoId);
    }

    function test_transferFrom_revertsIfSenderKycExpired() public {
        uint256 repoId = _openOpenRepo();
        vm.warp(block.timestamp + KYC_VALIDITY + 1);
        (address dave,) = makeAddrAndKey("dave");
        _verify(dave);
        vm.expectRevert(abi.encodeWithSelector(IRepoPosition.RepoPositionHolderNotVerified.selector, buyer));
        vm.prank(buyer);
        position.transferFrom(buyer, dave, repoId);
    }

    function test_transferFrom_revertsIfNotApproved() public {
        uint256 repoId = _openOpenRepo();
        vm.expectRevert(abi.encodeWithSelector(IERC721Errors.ERC721InsufficientApproval.selector, carol, repoId));
        vm.prank(carol);
        position.transferFrom(buyer, carol, repoId);
    }

    function test_burn_byEngineOnRepurchase() public {
        uint256 repoId = _openOpenRepo();
        assertEq(position.balanceOf(buyer), 1);
        vm.prank(seller);
        engine.repurchase(repoId);
        assertEq(position.balanceOf(buyer), 0);
        vm.expectRevert(abi.encodeWithSelector(IERC721Errors.ERC721NonexistentToken.selector, repoId));
        position.ownerOf(repoId);
    }

    function test_supportsInterface_erc721() public view {
        assertTrue(position.supportsInterface(0x80ac58cd));
    }

    // ------------------------------------------------------------------ a seller is not its own lender

    /// @dev A second wallet of the seller's identity, funded, with its key.
    function _sellerTwin() internal returns (address twin, uint256 twinKey) {
        (twin, twinKey) = makeAddrAndKey("sellerTwin");
        uint256 sellerIdentity = registry.identityOf(seller);
        vm.prank(admin);
        registry.addWallet(sellerIdentity, twin);
        _fund(twin);
    }

    function test_transferFrom_toTheSeller_reverts() public {
        uint256 repoId = _openOpenRepo();
        vm.expectRevert(abi.encodeWithSelector(IRepoPosition.RepoPositionSellerSide.selector, seller, seller));
        vm.prank(buyer);
        position.transferFrom(buyer, seller, repoId);
    }

    function test_transferFrom_toAnotherWalletOfTheSeller_reverts() public {
        (address twin,) = _sellerTwin();
        uint256 repoId = _openOpenRepo();
        vm.expectRevert(abi.encodeWithSelector(IRepoPosition.RepoPositionSellerSide.selector, twin, seller));
        vm.prank(buyer);
        position.transferFrom(buyer, twin, repoId);
        assertEq(position.ownerOf(repoId), buyer);
    }

    function test_open_withAnotherWalletOfTheSellerAsBuyer_reverts() public {
        // Both legs would be the seller's: it could take its own margin back as the lender while it owes others.
        (address twin, uint256 twinKey) = _sellerTwin();
        IRepoEngine.RepoTerms memory t = _terms(0);
        t.buyer = twin;
        bytes memory sellerSig = _signTerms(sellerKey, t);
        bytes memory twinSig = _signTerms(twinKey, t);
        vm.expectRevert(abi.encodeWithSelector(IRepoPosition.RepoPositionSellerSide.selector, twin, seller));
        engine.open(t, sellerSig, twinSig);
    }
}
