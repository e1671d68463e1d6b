// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {IRepoEngine} from "../src/interfaces/IRepoEngine.sol";
import {RepoFixture} from "./utils/RepoFixture.sol";

contract RepoEngineAmendTest is RepoFixture {
    uint8 internal constant ROLL = 0;
    uint8 internal constant RERATE = 1;

    function _amend(IRepoEngine.Amendment memory a, uint256 holderKey) internal {
        engine.amend(a, _signAmendment(sellerKey, a), _signAmendment(holderKey, a));
    }

    function _expectAmendRevert(IRepoEngine.Amendment memory a, bytes memory err) internal {
        bytes memory sSig = _signAmendment(sellerKey, a);
        bytes memory hSig = _signAmendment(buyerKey, a);
        vm.expectRevert(err);
        engine.amend(a, sSig, hSig);
    }

    // ------------------------------------------------------------------ roll

    function test_amend_rollsTermRepo() public {
        uint256 repoId = _openTermRepo();
        uint64 oldMaturity = engine.getRepo(repoId).maturity;
        uint64 newMaturity = oldMaturity + 30 days;
        IRepoEngine.Amendment memory a = _amendment(repoId, ROLL, newMaturity, 0);
        vm.expectEmit(address(engine));
        emit IRepoEngine.RepoRolled(repoId, oldMaturity, newMaturity);
        _amend(a, buyerKey);
        assertEq(uint256(engine.getRepo(repoId).maturity), newMaturity);
        assertTrue(engine.nonceUsed(seller, a.nonce));
        assertTrue(engine.nonceUsed(buyer, a.nonce));
        assertEq(
            engine.repurchasePrice(repoId, newMaturity + 1 days),
            PP + uint256(_refPD(PP, RATE, 360, newMaturity - engine.getRepo(repoId).periodStart)),
            "accrual continues to the new maturity"
        );
        _skip(TERM + 1);
        vm.expectRevert(abi.encodeWithSelector(IRepoEngine.RepoNotMatured.selector, repoId, newMaturity));
        vm.prank(seller);
        engine.repurchase(repoId);
    }

    function test_amend_rollRevertsForOpenRepo() public {
        uint256 repoId = _openOpenRepo();
        _expectAmendRevert(
            _amendment(repoId, ROLL, uint64(block.timestamp + 10 days), 0),
            abi.encodeWithSelector(IRepoEngine.RepoIsOpenRepo.selector, repoId)
        );
    }

    function test_amend_rollRevertsIfMaturityNotInFuture() public {
        uint256 repoId = _openTermRepo();
        uint64 newMaturity = uint64(block.timestamp);
        _expectAmendRevert(
            _amendment(repoId, ROLL, newMaturity, 0),
            abi.encodeWithSelector(IRepoEngine.RepoInvalidMaturity.selector, newMaturity)
        );
    }

    function test_amend_rollAfterMaturityWithinGrace() public {
        uint256 repoId = _openTermRepo();
        _skip(TERM + 1 hours);
        _amend(_amendment(repoId, ROLL, uint64(block.timestamp + 7 days), 0), buyerKey);
        _skip(GRACE + 1);
        vm.expectRevert(abi.encodeWithSelector(IRepoEngine.RepoNotInDefault.selector, repoId));
        engine.declareDefault(repoId);
    }

    // ------------------------------------------------------------------ re-rate

    function test_amend_rerateCrystallizesAccruedPD() public {
        uint256 repoId = _openOpenRepo();
        _skip(10 days);
        int256 accrued = _refPD(PP, RATE, 360, 10 days);
        int256 newRate = 0.05e18;
        vm.expectEmit(address(engine));
        emit IRepoEngine.RepoRerated(repoId, RATE, newRate, accrued);
        _amend(_amendment(repoId, RERATE, 0, newRate), buyerKey);
        IRepoEngine.Repo memory r = engine.getRepo(repoId);
        assertEq(r.crystallizedPD, accrued);
        assertEq(r.rate, newRate);
        assertEq(uint256(r.periodStart), block.timestamp);
        assertEq(engine.repurchasePrice(repoId, uint64(block.timestamp)), PP + uint256(accrued), "continuous");
        assertEq(
            engine.repurchasePrice(repoId, uint64(block.timestamp + 5 days)),
            PP + uint256(accrued + _refPD(PP, newRate, 360, 5 days))
        );
    }

    function test_amend_rerateToNegative() public {
        uint256 repoId = _openOpenRepo();
        _skip(2 days);
        int256 accrued = _refPD(PP, RATE, 360, 2 days);
        _amend(_amendment(repoId, RERATE, 0, -0.01e18), buyerKey);
        _skip(3 days);
        assertEq(
            engine.repurchasePrice(repoId, uint64(block.timestamp)),
            uint256(int256(PP) + accrued + _refPD(PP, -0.01e18, 360, 3 days))
        );
    }

    function test_amend_rerateOfTermRepoCrystallizesUpToMaturity() public {
        uint256 repoId = _openTermRepo();
        _skip(TERM + 1 days);
        _amend(_amendment(repoId, RERATE, 0, 0.1e18), buyerKey);
        assertEq(engine.getRepo(repoId).crystallizedPD, _refPD(PP, RATE, 360, TERM));
        assertEq(
            engine.repurchasePrice(repoId, uint64(block.timestamp + 1 days)), PP + uint256(_refPD(PP, RATE, 360, TERM))
        );
    }

    function test_amend_rerateRevertsIfRateOutOfRange() public {
        uint256 repoId = _openOpenRepo();
        int256 bad = -1000e18 - 1;
        _expectAmendRevert(
            _amendment(repoId, RERATE, 0, bad), abi.encodeWithSelector(IRepoEngine.RepoInvalidRate.selector, bad)
        );
    }

    // ------------------------------------------------------------------ common checks

    function test_amend_revertsIfKindUnknown() public {
        uint256 repoId = _openOpenRepo();
        _expectAmendRevert(
            _amendment(repoId, 3, 0, 0), abi.encodeWithSelector(IRepoEngine.RepoInvalidAmendmentKind.selector, uint8(3))
        );
    }

    function test_amend_revertsIfExpired() public {
        uint256 repoId = _openOpenRepo();
        IRepoEngine.Amendment memory a = _amendment(repoId, RERATE, 0, 0.04e18);
        bytes memory sSig = _signAmendment(sellerKey, a);
        bytes memory hSig = _signAmendment(buyerKey, a);
        _skip(1 hours + 1);
        vm.expectRevert(abi.encodeWithSelector(IRepoEngine.RepoExpired.selector, a.deadline));
        engine.amend(a, sSig, hSig);
    }

    function test_amend_revertsIfSellerNonceUsed() public {
        uint256 repoId = _openOpenRepo();
        IRepoEngine.Amendment memory a = _amendment(repoId, RERATE, 0, 0.04e18);
        vm.prank(seller);
        engine.cancelNonce(a.nonce);
        _expectAmendRevert(a, abi.encodeWithSelector(IRepoEngine.RepoNonceUsed.selector, seller, a.nonce));
    }

    function test_amend_revertsIfHolderNonceUsed() public {
        uint256 repoId = _openOpenRepo();
        IRepoEngine.Amendment memory a = _amendment(repoId, RERATE, 0, 0.04e18);
        vm.prank(buyer);
        engine.cancelNonce(a.nonce);
        _expectAmendRevert(a, abi.encodeWithSelector(IRepoEngine.RepoNonceUsed.selector, buyer, a.nonce));
    }

    function test_amend_revertsIfSellerSignatureInvalid() public {
        uint256 repoId = _openOpenRepo();
        IRepoEngine.Amendment memory a = _amendment(repoId, RERATE, 0, 0.04e18);
        bytes memory hSig = _signAmendment(buyerKey, a);
        vm.expectRevert(abi.encodeWithSelector(IRepoEngine.RepoInvalidSignature.selector, seller));
        engine.amend(a, hSig, hSig);
    }

    function test_amend_revertsIfHolderSignatureInvalid() public {
        uint256 repoId = _openOpenRepo();
        IRepoEngine.Amendment memory a = _amendment(repoId, RERATE, 0, 0.04e18);
        bytes memory sSig = _signAmendment(sellerKey, a);
        vm.expectRevert(abi.encodeWithSelector(IRepoEngine.RepoInvalidSignature.selector, buyer));
        engine.amend(a, sSig, sSig);
    }

    function test_amend_needsCurrentHolder() public {
        uint256 repoId = _openOpenRepo();
        vm.prank(buyer);
        position.transferFrom(buyer, carol, repoId);
        IRepoEngine.Amendment memory a = _amendment(repoId, RERATE, 0, 0.04e18);
        bytes memory sSig = _signAmendment(sellerKey, a);
        bytes memory oldHolderSig = _signAmendment(buyerKey, a);
        vm.expectRevert(abi.encodeWithSelector(IRepoEngine.RepoInvalidSignature.selector, carol));
        engine.amend(a, sSig, oldHolderSig);
        _amend(a, carolKey);
        assertEq(engine.getRepo(repoId).rate, 0.04e18);
    }

    function test_amend_revertsIfNotLive() public {
        uint256 repoId = _openOpenRepo();
        vm.prank(seller);
        engine.repurchase(repoId);
        IRepoEngine.Amendment memory a = _amendment(repoId, RERATE, 0, 0.04e18);
        vm.expectRevert(
            abi.encodeWithSelector(IRepoEngine.RepoInvalidStatus.selector, repoId, IRepoEngine.RepoStatus.REPURCHASED)
        );
        engine.amend(a, "", "");
    }

    function test_amend_revertsIfUnknown() public {
        IRepoEngine.Amendment memory a = _amendment(42, RERATE, 0, 0.04e18);
        vm.expectRevert(abi.encodeWithSelector(IRepoEngine.RepoUnknown.selector, 42));
        engine.amend(a, "", "");
    }

    // ------------------------------------------------------------------ terminate

    function test_terminate_bySellerSetsMaturity() public {
        uint256 repoId = _openOpenRepo();
        uint64 maturity = uint64(block.timestamp + NOTICE);
        vm.expectEmit(address(engine));
        emit IRepoEngine.RepoTerminationNoticed(repoId, seller, maturity);
        vm.prank(seller);
        engine.terminate(repoId);
        assertEq(uint256(engine.getRepo(repoId).maturity), maturity);
    }

    function test_terminate_byHolderThenBehavesAsTermRepo() public {
        uint256 repoId = _openOpenRepo();
        _skip(5 days);
        vm.prank(buyer);
        engine.terminate(repoId);
        uint64 maturity = engine.getRepo(repoId).maturity;
        uint256 expected = PP + uint256(_refPD(PP, RATE, 360, 5 days + NOTICE));
        assertEq(engine.repurchasePrice(repoId, maturity + 10 days), expected, "PD stops at maturity");

        vm.expectRevert(abi.encodeWithSelector(IRepoEngine.RepoNotMatured.selector, repoId, maturity));
        vm.prank(seller);
        engine.repurchase(repoId);

        _skip(NOTICE + GRACE + 1);
        engine.declareDefault(repoId);
        assertEq(uint256(engine.getRepo(repoId).status), uint256(IRepoEngine.RepoStatus.DEFAULTED));
    }

    function test_terminate_revertsIfNotParty() public {
        uint256 repoId = _openOpenRepo();
        vm.expectRevert(abi.encodeWithSelector(IRepoEngine.RepoNotSellerOrHolder.selector, repoId, carol));
        vm.prank(carol);
        engine.terminate(repoId);
    }

    function test_terminate_revertsIfTermRepo() public {
        uint256 repoId = _openTermRepo();
        uint64 maturity = engine.getRepo(repoId).maturity;
        vm.expectRevert(abi.encodeWithSelector(IRepoEngine.RepoIsTermRepo.selector, repoId, maturity));
        vm.prank(seller);
        engine.terminate(repoId);
    }

    function test_terminate_revertsIfAlreadyNoticed() public {
        uint256 repoId = _openOpenRepo();
        vm.prank(seller);
        engine.terminate(repoId);
        uint64 maturity = engine.getRepo(repoId).maturity;
        vm.expectRevert(abi.encodeWithSelector(IRepoEngine.RepoIsTermRepo.selector, repoId, maturity));
        vm.prank(buyer);
        engine.terminate(repoId);
    }

    function test_terminate_revertsIfUnknown() public {
        vm.expectRevert(abi.encodeWithSelector(IRepoEngine.RepoUnknown.selector, 6));
        vm.prank(seller);
        engine.terminate(6);
    }

    function test_terminate_revertsIfNotLive() public {
        uint256 repoId = _openOpenRepo();
        vm.prank(seller);
        engine.repurchase(repoId);
        vm.expectRevert(
            abi.encodeWithSelector(IRepoEngine.RepoInvalidStatus.selector, repoId, IRepoEngine.RepoStatus.REPURCHASED)
        );
        vm.prank(seller);
        engine.terminate(repoId);
    }
}
