// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {IRepoEngine} from "../src/interfaces/IRepoEngine.sol";
import {RepoFixture} from "./utils/RepoFixture.sol";

/// @notice A pause of a token the seller must pay in never creates a default: the grace and cure clocks stop
/// during the pause, default cannot be declared while it lasts, and the clock resumes after it.
contract RepoEnginePauseClockTest is RepoFixture {
    function _pauseCash() internal {
        vm.prank(admin);
        cash.pause();
    }

    function _unpauseCash() internal {
        vm.prank(admin);
        cash.unpause();
    }

    /// @dev The issue's reproduction: cash paused across maturity + grace; no default during or right after it.
    function test_cashPausedOverMaturity_noDefaultAndRepurchaseAfterUnpause() public {
        uint256 repoId = _openTermRepo();
        _skip(TERM - 1 hours);
        _pauseCash();
        vm.expectRevert(); // the seller cannot pay while cash is paused
        vm.prank(seller);
        engine.repurchase(repoId);
        _skip(1 hours + GRACE + 1 days);
        vm.expectRevert(
            abi.encodeWithSelector(IRepoEngine.RepoPaymentTokenPaused.selector, repoId, address(cash))
        );
        engine.declareDefault(repoId);
        _unpauseCash();
        // Paused for GRACE + 1 day after maturity: the whole grace period is still ahead.
        vm.expectRevert(abi.encodeWithSelector(IRepoEngine.RepoNotInDefault.selector, repoId));
        engine.declareDefault(repoId);
        vm.prank(seller);
        engine.repurchase(repoId);
        assertEq(uint256(engine.getRepo(repoId).status), uint256(IRepoEngine.RepoStatus.REPURCHASED));
    }

    function test_graceResumesAfterPause_defaultExactlyAfterExtendedGrace() public {
        uint256 repoId = _openTermRepo();
        _skip(TERM + 1 hours);
        _pauseCash();
        _skip(5 hours);
        _unpauseCash();
        // now maturity + 6 h; grace ends at maturity + GRACE + 5 h (the paused time)
        _skip(GRACE - 1 hours);
        vm.expectRevert(abi.encodeWithSelector(IRepoEngine.RepoNotInDefault.selector, repoId));
        engine.declareDefault(repoId);
        _skip(1);
        engine.declareDefault(repoId);
        assertEq(uint256(engine.getRepo(repoId).status), uint256(IRepoEngine.RepoStatus.DEFAULTED));
    }

    function test_pauseBeforeMaturity_doesNotExtendGrace() public {
        uint256 repoId = _openTermRepo();
        _skip(1 days);
        _pauseCash();
        _skip(3 days);
        _unpauseCash();
        _skip(TERM - 4 days + GRACE + 1);
        engine.declareDefault(repoId);
    }

    function test_cureClockStopsWhileCollateralPaused() public {
        uint256 repoId = _openOpenRepo();
        _setBondPrice(90e18);
        engine.callMargin(repoId);
        _skip(CURE / 2);
        vm.prank(admin);
        bond.pause();
        _skip(CURE);
        vm.expectRevert(
            abi.encodeWithSelector(IRepoEngine.RepoPaymentTokenPaused.selector, repoId, address(bond))
        );
        engine.declareDefault(repoId);
        vm.prank(admin);
        bond.unpause();
        vm.expectRevert(abi.encodeWithSelector(IRepoEngine.RepoNotInDefault.selector, repoId));
        engine.declareDefault(repoId);
        _skip(CURE / 2 + 1);
        engine.declareDefault(repoId);
        assertEq(uint256(engine.getRepo(repoId).status), uint256(IRepoEngine.RepoStatus.DEFAULTED));
    }

    function test_tokenPauseHistory_measuresPausedSeconds() public {
        uint64 t0 = uint64(block.timestamp);
        _pauseCash();
        vm.warp(t0 + 100);
        _unpauseCash();
        vm.warp(t0 + 200);
        _pauseCash();
        vm.warp(t0 + 250);
        (bool pausedNow, uint256 s) = cash.pausedSince(t0);
        assertTrue(pausedNow);
        assertEq(s, 150);
        (, s) = cash.pausedSince(t0 + 50);
        assertEq(s, 100);
        (, s) = cash.pausedSince(t0 + 150);
        assertEq(s, 50);
        _unpauseCash();
        vm.warp(t0 + 1000);
        (pausedNow, s) = cash.pausedSince(t0 + 220);
        assertFalse(pausedNow);
        assertEq(s, 30);
    }

    /// @dev For any pause inside the grace window, default becomes possible exactly `paused` seconds later.
    function testFuzz_pauseShiftsDefaultByPausedTime(uint256 startSeed, uint256 lengthSeed) public {
        uint256 repoId = _openTermRepo();
        uint64 maturity = engine.getRepo(repoId).maturity;
        uint256 start = bound(startSeed, 0, GRACE);
        uint256 length = bound(lengthSeed, 1, 10 days);
        vm.warp(maturity + start);
        _pauseCash();
        vm.warp(maturity + start + length);
        _unpauseCash();
        uint256 lapse = maturity + GRACE + length;
        if (block.timestamp <= lapse) {
            vm.warp(lapse);
            _refreshPrices();
            vm.expectRevert(abi.encodeWithSelector(IRepoEngine.RepoNotInDefault.selector, repoId));
            engine.declareDefault(repoId);
        }
        vm.warp(lapse + 1);
        engine.declareDefault(repoId);
    }
}
