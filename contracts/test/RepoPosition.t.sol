// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {IERC721Errors} from "@openzeppelin/contracts/interfaces/draft-IERC6093.sol";
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
        position.mint(buyer, 1);
    }

    function test_burn_revertsIfNotEngine() public {
        uint256 repoId = _openOpenRepo();
        vm.expectRevert(abi.encodeWithSelector(IRepoPosition.RepoPositionUnauthorized.selector, buyer));
        vm.prank(buyer);
        position.burn(repoId);
    }

    /// @dev The engine verifies a position's first holder itself (open: RepoEngine.open.t.sol, RepoPartyNotVerified;
    /// import: RepoEngine.migration.t.sol); the position's own check applies to transfers only.
    function test_mint_leavesTheRecipientCheckToTheEngine() public {
        vm.prank(address(engine));
        position.mint(outsider, 1);
        assertEq(position.ownerOf(1), outsider);
        vm.expectRevert(abi.encodeWithSelector(IRepoPosition.RepoPositionHolderNotVerified.selector, outsider));
        vm.prank(outsider);
        position.transferFrom(outsider, carol, 1);
    }

    function test_mint_byEngineToVerified() public {
        vm.prank(address(engine));
        position.mint(carol, 77);
        assertEq(position.ownerOf(77), carol);
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
}
