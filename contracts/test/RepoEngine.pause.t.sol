// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {IAccessControl} from "@openzeppelin/contracts/access/IAccessControl.sol";
import {Pausable} from "@openzeppelin/contracts/utils/Pausable.sol";
import {IRepoEngine} from "../src/interfaces/IRepoEngine.sol";
import {RepoFixture} from "./utils/RepoFixture.sol";

/// @notice Pause stops new business (open, substitute); everything that lets a party leave or enforce stays open.
contract RepoEnginePauseTest is RepoFixture {
    function _pause() internal {
        vm.prank(admin);
        engine.pause();
    }

    function test_pause_emitsAndSetsPaused() public {
        vm.expectEmit(address(engine));
        emit Pausable.Paused(admin);
        _pause();
        assertTrue(engine.paused());
    }

    function test_pause_revertsIfNotPauser() public {
        vm.expectRevert(
            abi.encodeWithSelector(
                IAccessControl.AccessControlUnauthorizedAccount.selector, carol, engine.PAUSER_ROLE()
            )
        );
        vm.prank(carol);
        engine.pause();
    }

    function test_unpause_revertsIfNotPauser() public {
        _pause();
        vm.expectRevert(
            abi.encodeWithSelector(
                IAccessControl.AccessControlUnauthorizedAccount.selector, carol, engine.PAUSER_ROLE()
            )
        );
        vm.prank(carol);
        engine.unpause();
    }

    function test_pause_grantedPauserMayPause() public {
        bytes32 role = engine.PAUSER_ROLE();
        vm.prank(admin);
        engine.grantRole(role, carol);
        vm.prank(carol);
        engine.pause();
        assertTrue(engine.paused());
    }

    function test_pause_revertsIfAlreadyPaused() public {
        _pause();
        vm.expectRevert(Pausable.EnforcedPause.selector);
        vm.prank(admin);
        engine.pause();
    }

    function test_unpause_revertsIfNotPaused() public {
        vm.expectRevert(Pausable.ExpectedPause.selector);
        vm.prank(admin);
        engine.unpause();
    }

    function test_unpause_emitsUnpaused() public {
        _pause();
        vm.expectEmit(address(engine));
        emit Pausable.Unpaused(admin);
        vm.prank(admin);
        engine.unpause();
        assertFalse(engine.paused());
    }

    function test_open_revertsWhenPaused() public {
        IRepoEngine.RepoTerms memory t = _terms(0);
        bytes memory sSig = _signTerms(sellerKey, t);
        bytes memory bSig = _signTerms(buyerKey, t);
        _pause();
        vm.expectRevert(Pausable.EnforcedPause.selector);
        engine.open(t, sSig, bSig);
    }

    function test_unpause_resumesOpen() public {
        _pause();
        vm.prank(admin);
        engine.unpause();
        assertEq(_openOpenRepo(), 1);
    }

    function test_substitute_revertsWhenPaused() public {
        uint256 repoId = _openOpenRepo();
        _pause();
        uint64 deadline = uint64(block.timestamp + 1 hours);
        bytes memory sig = _signSubstitution(buyerKey, repoId, address(bond2), 1_020_000, 1_234, deadline);
        vm.expectRevert(Pausable.EnforcedPause.selector);
        vm.prank(seller);
        engine.substitute(repoId, address(bond2), 1_020_000, sig, 1_234, deadline);
    }

    function test_repurchase_worksWhenPaused() public {
        uint256 repoId = _openOpenRepo();
        _pause();
        vm.prank(seller);
        engine.repurchase(repoId);
        assertEq(uint256(engine.getRepo(repoId).status), uint256(IRepoEngine.RepoStatus.REPURCHASED));
    }

    function test_repurchaseEarly_worksWhenPaused() public {
        uint256 repoId = _openTermRepo();
        _pause();
        uint64 deadline = uint64(block.timestamp + 1 hours);
        bytes memory sig = _signEarly(buyerKey, repoId, 4_321, deadline);
        vm.prank(seller);
        engine.repurchaseEarly(repoId, sig, 4_321, deadline);
        assertEq(uint256(engine.getRepo(repoId).status), uint256(IRepoEngine.RepoStatus.REPURCHASED));
    }

    function test_margin_worksWhenPaused() public {
        uint256 repoId = _openOpenRepo();
        _pause();
        _setBondPrice(90e18);
        engine.callMargin(repoId);
        vm.prank(seller);
        engine.postMargin(repoId, 0, 7_390_000);
        assertEq(uint256(engine.getRepo(repoId).status), uint256(IRepoEngine.RepoStatus.OPEN));
        _setBondPrice(BOND_PRICE);
        vm.prank(seller);
        engine.withdrawExcess(repoId, 0, 7_390_000);
    }

    function test_amendAndTerminate_workWhenPaused() public {
        uint256 repoId = _openOpenRepo();
        _pause();
        IRepoEngine.Amendment memory a = _amendment(repoId, 1, 0, 0.04e18);
        engine.amend(a, _signAmendment(sellerKey, a), _signAmendment(buyerKey, a));
        vm.prank(buyer);
        engine.terminate(repoId);
        assertEq(engine.getRepo(repoId).rate, 0.04e18);
    }

    function test_defaultAndCloseOut_workWhenPaused() public {
        uint256 repoId = _openTermRepo();
        _pause();
        _skip(TERM + GRACE + 1);
        engine.declareDefault(repoId);
        vm.prank(buyer);
        engine.closeOut(repoId);
        assertEq(uint256(engine.getRepo(repoId).status), uint256(IRepoEngine.RepoStatus.CLOSED_OUT));
    }
}
