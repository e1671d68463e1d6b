// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {IERC20Errors} from "@openzeppelin/contracts/interfaces/draft-IERC6093.sol";
import {IRepoEngine} from "../src/interfaces/IRepoEngine.sol";
import {IRepoMigration} from "../src/interfaces/IRepoMigration.sol";
import {RepoFixture} from "./utils/RepoFixture.sol";

contract RepoEngineOpenTest is RepoFixture {
    function test_open_settlesBothLegsAndMintsPosition() public {
        IRepoEngine.RepoTerms memory t = _terms(0);
        uint256 sellerCash = cash.balanceOf(seller);
        uint256 buyerCash = cash.balanceOf(buyer);
        uint256 sellerBond = bond.balanceOf(seller);
        uint256 cashSupply = cash.totalSupply();
        uint256 bondSupply = bond.totalSupply();

        uint256 repoId = _open(t);

        assertEq(repoId, 1);
        assertEq(engine.repoCount(), 1);
        assertEq(cash.balanceOf(seller), sellerCash + PP);
        assertEq(cash.balanceOf(buyer), buyerCash - PP);
        assertEq(bond.balanceOf(seller), sellerBond - COLLATERAL);
        assertEq(bond.balanceOf(address(engine)), COLLATERAL);
        assertEq(cash.totalSupply(), cashSupply);
        assertEq(bond.totalSupply(), bondSupply);
        assertEq(position.ownerOf(repoId), buyer);
        assertTrue(engine.nonceUsed(seller, t.nonce));
        assertTrue(engine.nonceUsed(buyer, t.nonce));
    }

    function test_open_storesRepo() public {
        vm.warp(block.timestamp + 10);
        _refreshPrices();
        IRepoEngine.RepoTerms memory t = _terms(uint64(block.timestamp) + TERM);
        t.startTime = uint64(block.timestamp) - 5;
        uint256 repoId = _open(t);
        IRepoEngine.Repo memory r = engine.getRepo(repoId);
        assertEq(r.seller, seller);
        assertEq(r.buyer, buyer);
        assertEq(r.cashToken, address(cash));
        assertEq(r.collateralToken, address(bond));
        assertEq(r.purchasePrice, PP);
        assertEq(r.rate, RATE);
        assertEq(uint256(r.dayCountBasis), 360);
        assertEq(uint256(r.haircutBps), HAIRCUT);
        assertEq(uint256(r.status), uint256(IRepoEngine.RepoStatus.OPEN));
        assertEq(uint256(r.openedAt), block.timestamp, "accrual starts at the actual open time");
        assertEq(uint256(r.periodStart), block.timestamp);
        assertEq(uint256(r.maturity), uint256(t.maturity));
        assertEq(uint256(r.noticePeriod), NOTICE);
        assertEq(uint256(r.marginCurePeriod), CURE);
        assertEq(uint256(r.gracePeriod), GRACE);
        assertEq(r.crystallizedPD, int256(0));
        assertEq(r.collateralAmount, COLLATERAL);
        assertEq(r.cashMargin, 0);
        assertEq(r.minTransferAmount, MTA);
        assertEq(r.marginCallOutstanding, 0);
        assertEq(engine.repurchasePrice(repoId, uint64(block.timestamp)), PP);
    }

    function test_open_emitsRepoOpened() public {
        IRepoEngine.RepoTerms memory t = _terms(0);
        bytes memory sSig = _signTerms(sellerKey, t);
        bytes memory bSig = _signTerms(buyerKey, t);
        vm.expectEmit(address(engine));
        emit IRepoEngine.RepoOpened(
            1, seller, buyer, engine.hashTerms(t), address(cash), PP, address(bond), COLLATERAL, RATE, 0
        );
        engine.open(t, sSig, bSig);
    }

    function test_open_assignsSequentialIds() public {
        assertEq(_openOpenRepo(), 1);
        assertEq(_openTermRepo(), 2);
        assertEq(_openOpenRepo(), 3);
    }

    function test_open_acceptsErc1271Buyer() public {
        IRepoEngine.RepoTerms memory t = _terms(0);
        t.buyer = address(wallet);
        uint256 repoId = engine.open(t, _signTerms(sellerKey, t), _signTerms(walletOwnerKey, t));
        assertEq(position.ownerOf(repoId), address(wallet));
        assertTrue(engine.nonceUsed(address(wallet), t.nonce));
    }

    function test_open_revertsIfErc1271SignatureWrong() public {
        IRepoEngine.RepoTerms memory t = _terms(0);
        t.buyer = address(wallet);
        bytes memory sSig = _signTerms(sellerKey, t);
        bytes memory bad = _signTerms(carolKey, t);
        vm.expectRevert(abi.encodeWithSelector(IRepoEngine.RepoInvalidSignature.selector, address(wallet)));
        engine.open(t, sSig, bad);
    }

    function test_open_anyoneMaySubmit() public {
        IRepoEngine.RepoTerms memory t = _terms(0);
        bytes memory sSig = _signTerms(sellerKey, t);
        bytes memory bSig = _signTerms(buyerKey, t);
        vm.prank(outsider);
        uint256 repoId = engine.open(t, sSig, bSig);
        assertEq(position.ownerOf(repoId), buyer);
    }

    function test_open_revertsIfSellerSignatureInvalid() public {
        IRepoEngine.RepoTerms memory t = _terms(0);
        bytes memory bSig = _signTerms(buyerKey, t);
        vm.expectRevert(abi.encodeWithSelector(IRepoEngine.RepoInvalidSignature.selector, seller));
        engine.open(t, bSig, bSig);
    }

    function test_open_revertsIfBuyerSignatureInvalid() public {
        IRepoEngine.RepoTerms memory t = _terms(0);
        bytes memory sSig = _signTerms(sellerKey, t);
        vm.expectRevert(abi.encodeWithSelector(IRepoEngine.RepoInvalidSignature.selector, buyer));
        engine.open(t, sSig, sSig);
    }

    function test_open_revertsIfTermsAlteredAfterSigning() public {
        IRepoEngine.RepoTerms memory t = _terms(0);
        bytes memory sSig = _signTerms(sellerKey, t);
        bytes memory bSig = _signTerms(buyerKey, t);
        t.purchasePrice = PP + 1;
        vm.expectRevert(abi.encodeWithSelector(IRepoEngine.RepoInvalidSignature.selector, seller));
        engine.open(t, sSig, bSig);
    }

    function test_open_revertsIfSignatureMalformed() public {
        IRepoEngine.RepoTerms memory t = _terms(0);
        bytes memory bSig = _signTerms(buyerKey, t);
        vm.expectRevert(abi.encodeWithSelector(IRepoEngine.RepoInvalidSignature.selector, seller));
        engine.open(t, hex"1234", bSig);
    }

    function test_open_revertsIfSignedForAnotherEngine() public {
        IRepoEngine.RepoTerms memory t = _terms(0);
        bytes32 structHash = engine.hashTerms(t);
        // Same struct hash under a domain with a different verifying contract.
        bytes32 otherDomain = keccak256(
            abi.encode(
                keccak256("EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)"),
                keccak256("RepoNet RepoEngine"),
                keccak256("1"),
                block.chainid,
                address(0xBEEF)
            )
        );
        bytes32 digest = keccak256(abi.encodePacked("\x19\x01", otherDomain, structHash));
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(sellerKey, digest);
        bytes memory bSig = _signTerms(buyerKey, t);
        vm.expectRevert(abi.encodeWithSelector(IRepoEngine.RepoInvalidSignature.selector, seller));
        engine.open(t, abi.encodePacked(r, s, v), bSig);
    }

    function test_open_revertsIfReplayed() public {
        IRepoEngine.RepoTerms memory t = _terms(0);
        bytes memory sSig = _signTerms(sellerKey, t);
        bytes memory bSig = _signTerms(buyerKey, t);
        engine.open(t, sSig, bSig);
        vm.expectRevert(abi.encodeWithSelector(IRepoEngine.RepoNonceUsed.selector, seller, t.nonce));
        engine.open(t, sSig, bSig);
    }

    function test_open_revertsIfBuyerNonceUsed() public {
        IRepoEngine.RepoTerms memory t = _terms(0);
        vm.prank(buyer);
        engine.cancelNonce(t.nonce);
        bytes memory sSig = _signTerms(sellerKey, t);
        bytes memory bSig = _signTerms(buyerKey, t);
        vm.expectRevert(abi.encodeWithSelector(IRepoEngine.RepoNonceUsed.selector, buyer, t.nonce));
        engine.open(t, sSig, bSig);
    }

    function test_open_revertsIfSellerCancelledNonce() public {
        IRepoEngine.RepoTerms memory t = _terms(0);
        vm.prank(seller);
        engine.cancelNonce(t.nonce);
        bytes memory sSig = _signTerms(sellerKey, t);
        bytes memory bSig = _signTerms(buyerKey, t);
        vm.expectRevert(abi.encodeWithSelector(IRepoEngine.RepoNonceUsed.selector, seller, t.nonce));
        engine.open(t, sSig, bSig);
    }

    function test_open_revertsBeforeStartTime() public {
        IRepoEngine.RepoTerms memory t = _terms(0);
        t.startTime = uint64(block.timestamp + 1);
        _expectOpenRevert(t, abi.encodeWithSelector(IRepoEngine.RepoNotStarted.selector, t.startTime));
    }

    function test_open_revertsAfterDeadline() public {
        IRepoEngine.RepoTerms memory t = _terms(0);
        t.deadline = uint64(block.timestamp - 1);
        t.startTime = uint64(block.timestamp - 2);
        _expectOpenRevert(t, abi.encodeWithSelector(IRepoEngine.RepoExpired.selector, t.deadline));
    }

    function test_open_acceptsAtDeadline() public {
        IRepoEngine.RepoTerms memory t = _terms(0);
        t.deadline = uint64(block.timestamp);
        assertEq(_open(t), 1);
    }

    function test_open_revertsIfSameParty() public {
        IRepoEngine.RepoTerms memory t = _terms(0);
        t.buyer = seller;
        _expectOpenRevert(t, abi.encodeWithSelector(IRepoEngine.RepoSameParty.selector, seller));
    }

    function test_open_revertsIfSellerNotVerified() public {
        IRepoEngine.RepoTerms memory t = _terms(0);
        t.seller = outsider;
        _expectOpenRevert(t, abi.encodeWithSelector(IRepoEngine.RepoPartyNotVerified.selector, outsider));
    }

    function test_open_revertsIfBuyerNotVerified() public {
        IRepoEngine.RepoTerms memory t = _terms(0);
        t.buyer = outsider;
        _expectOpenRevert(t, abi.encodeWithSelector(IRepoEngine.RepoPartyNotVerified.selector, outsider));
    }

    function test_open_revertsIfBuyerFrozen() public {
        uint256 identityId = registry.identityOf(buyer);
        vm.prank(admin);
        registry.freezeIdentity(identityId);
        IRepoEngine.RepoTerms memory t = _terms(0);
        _expectOpenRevert(t, abi.encodeWithSelector(IRepoEngine.RepoPartyNotVerified.selector, buyer));
    }

    function test_open_revertsIfCashTokenZero() public {
        IRepoEngine.RepoTerms memory t = _terms(0);
        t.cashToken = address(0);
        _expectOpenRevert(t, abi.encodeWithSelector(IRepoEngine.RepoInvalidToken.selector, address(0)));
    }

    function test_open_revertsIfCollateralTokenZero() public {
        IRepoEngine.RepoTerms memory t = _terms(0);
        t.collateralToken = address(0);
        _expectOpenRevert(t, abi.encodeWithSelector(IRepoEngine.RepoInvalidToken.selector, address(0)));
    }

    function test_open_revertsIfDayCountBasisInvalid() public {
        IRepoEngine.RepoTerms memory t = _terms(0);
        t.dayCountBasis = 366;
        _expectOpenRevert(t, abi.encodeWithSelector(IRepoEngine.RepoInvalidDayCountBasis.selector, uint16(366)));
    }

    function test_open_accepts365Basis() public {
        IRepoEngine.RepoTerms memory t = _terms(0);
        t.dayCountBasis = 365;
        assertEq(_open(t), 1);
    }

    function test_open_revertsIfHaircutTooHigh() public {
        IRepoEngine.RepoTerms memory t = _terms(0);
        t.haircutBps = 10_000;
        _expectOpenRevert(t, abi.encodeWithSelector(IRepoEngine.RepoInvalidHaircut.selector, uint16(10_000)));
    }

    function test_open_revertsIfRateTooHigh() public {
        IRepoEngine.RepoTerms memory t = _terms(0);
        t.rate = 1000e18 + 1;
        _expectOpenRevert(t, abi.encodeWithSelector(IRepoEngine.RepoInvalidRate.selector, t.rate));
    }

    function test_open_revertsIfRateTooLow() public {
        IRepoEngine.RepoTerms memory t = _terms(0);
        t.rate = type(int256).min;
        _expectOpenRevert(t, abi.encodeWithSelector(IRepoEngine.RepoInvalidRate.selector, t.rate));
    }

    function test_open_acceptsNegativeRate() public {
        IRepoEngine.RepoTerms memory t = _terms(0);
        t.rate = -0.005e18;
        assertEq(_open(t), 1);
    }

    function test_open_revertsIfPurchasePriceZero() public {
        IRepoEngine.RepoTerms memory t = _terms(0);
        t.purchasePrice = 0;
        _expectOpenRevert(t, abi.encodeWithSelector(IRepoEngine.RepoZeroPurchasePrice.selector));
    }

    function test_open_revertsIfCollateralZero() public {
        IRepoEngine.RepoTerms memory t = _terms(0);
        t.collateralAmount = 0;
        _expectOpenRevert(t, abi.encodeWithSelector(IRepoEngine.RepoZeroAmount.selector));
    }

    function test_open_revertsIfMaturityNotInFuture() public {
        IRepoEngine.RepoTerms memory t = _terms(uint64(block.timestamp));
        _expectOpenRevert(t, abi.encodeWithSelector(IRepoEngine.RepoInvalidMaturity.selector, t.maturity));
    }

    function test_open_revertsWholeStepIfCashLegFails() public {
        IRepoEngine.RepoTerms memory t = _terms(0);
        vm.prank(buyer);
        cash.approve(address(engine), PP - 1);
        uint256 sellerBond = bond.balanceOf(seller);
        _expectOpenRevert(
            t, abi.encodeWithSelector(IERC20Errors.ERC20InsufficientAllowance.selector, address(engine), PP - 1, PP)
        );
        assertEq(bond.balanceOf(seller), sellerBond, "collateral leg undone");
        assertEq(bond.balanceOf(address(engine)), 0);
        assertFalse(engine.nonceUsed(seller, t.nonce), "nonce not consumed");
        assertEq(engine.repoCount(), 0);
    }

    function test_open_revertsWholeStepIfCollateralLegFails() public {
        IRepoEngine.RepoTerms memory t = _terms(0);
        t.collateralAmount = bond.balanceOf(seller) + 1;
        uint256 buyerCash = cash.balanceOf(buyer);
        bytes memory sSig = _signTerms(sellerKey, t);
        bytes memory bSig = _signTerms(buyerKey, t);
        vm.expectRevert();
        engine.open(t, sSig, bSig);
        assertEq(cash.balanceOf(buyer), buyerCash);
    }

    function test_open_revertsIfEngineNotSystemAccount() public {
        vm.prank(admin);
        registry.setSystemAccount(address(engine), false);
        IRepoEngine.RepoTerms memory t = _terms(0);
        bytes memory sSig = _signTerms(sellerKey, t);
        bytes memory bSig = _signTerms(buyerKey, t);
        vm.expectRevert();
        engine.open(t, sSig, bSig);
    }

    function test_cancelNonce_marksUsedAndEmits() public {
        vm.expectEmit(address(engine));
        emit IRepoEngine.NonceCancelled(seller, 42);
        vm.prank(seller);
        engine.cancelNonce(42);
        assertTrue(engine.nonceUsed(seller, 42));
        assertFalse(engine.nonceUsed(buyer, 42));
    }

    function test_cancelNonce_revertsIfUsed() public {
        vm.startPrank(seller);
        engine.cancelNonce(42);
        vm.expectRevert(abi.encodeWithSelector(IRepoEngine.RepoNonceUsed.selector, seller, 42));
        engine.cancelNonce(42);
        vm.stopPrank();
    }

    function test_hashTerms_matchesEip712Encoding() public {
        IRepoEngine.RepoTerms memory t = _terms(uint64(block.timestamp) + TERM);
        t.rate = -0.01e18;
        bytes32 typeHash = keccak256(
            "RepoTerms(address seller,address buyer,address cashToken,uint256 purchasePrice,int256 rate,"
            "uint16 dayCountBasis,uint64 startTime,uint64 maturity,uint64 noticePeriod,address collateralToken,"
            "uint256 collateralAmount,uint16 haircutBps,uint256 minTransferAmount,uint64 marginCurePeriod,"
            "uint64 gracePeriod,uint256 nonce,uint64 deadline)"
        );
        bytes memory head = abi.encode(typeHash, t.seller, t.buyer, t.cashToken, t.purchasePrice, t.rate);
        bytes memory mid = abi.encode(t.dayCountBasis, t.startTime, t.maturity, t.noticePeriod, t.collateralToken);
        bytes memory tail = abi.encode(
            t.collateralAmount,
            t.haircutBps,
            t.minTransferAmount,
            t.marginCurePeriod,
            t.gracePeriod,
            t.nonce,
            t.deadline
        );
        assertEq(engine.hashTerms(t), keccak256(bytes.concat(head, mid, tail)));
    }

    /// @dev hashTerms copies the terms from calldata without re-validating them, so the engine's ABI decoder must
    /// reject every narrow field (addresses, uint16, uint64) with dirty high bits, even when both parties signed
    /// exactly those bytes.
    function test_open_revertsForDirtyHighBits_evenIfBothSigned() public {
        IRepoEngine.RepoTerms memory t = _terms(uint64(block.timestamp) + TERM);
        bytes32 typeHash = keccak256(
            "RepoTerms(address seller,address buyer,address cashToken,uint256 purchasePrice,int256 rate,"
            "uint16 dayCountBasis,uint64 startTime,uint64 maturity,uint64 noticePeriod,address collateralToken,"
            "uint256 collateralAmount,uint16 haircutBps,uint256 minTransferAmount,uint64 marginCurePeriod,"
            "uint64 gracePeriod,uint256 nonce,uint64 deadline)"
        );
        uint8[12] memory narrow = [0, 1, 2, 5, 6, 7, 8, 9, 11, 13, 14, 16];
        for (uint256 i = 0; i < narrow.length; ++i) {
            bytes memory words = abi.encode(t);
            uint256 at = 32 + uint256(narrow[i]) * 32;
            assembly ("memory-safe") {
                let p := add(words, at)
                mstore(p, or(mload(p), shl(255, 1)))
            }
            bytes32 structHash = keccak256(bytes.concat(typeHash, words));
            bytes memory data =
                abi.encodeCall(engine.open, (t, _sign(sellerKey, structHash), _sign(buyerKey, structHash)));
            // The terms are static: inline after the selector, field k at 4 + 32k.
            at = 32 + 4 + uint256(narrow[i]) * 32;
            assembly ("memory-safe") {
                let p := add(data, at)
                mstore(p, or(mload(p), shl(255, 1)))
            }
            (bool ok, bytes memory ret) = address(engine).call(data);
            assertFalse(ok, "dirty field accepted");
            assertEq(ret.length, 0, "rejected by the ABI decoder, not by a check that could be signed around");
        }
        _open(t);
        assertEq(engine.repoCount(), 1);
    }

    function test_hashEarlyRepurchase_matchesEip712Encoding() public view {
        bytes32 typeHash = keccak256("EarlyRepurchase(uint256 repoId,uint256 nonce,uint64 deadline)");
        assertEq(engine.hashEarlyRepurchase(7, 8, 9), keccak256(abi.encode(typeHash, 7, 8, uint64(9))));
    }

    function test_hashSubstitution_matchesEip712Encoding() public view {
        bytes32 typeHash = keccak256(
            "Substitution(uint256 repoId,address newCollateralToken,uint256 newCollateralAmount,uint256 nonce,uint64 deadline)"
        );
        assertEq(
            engine.hashSubstitution(1, address(bond2), 5, 6, 7),
            keccak256(abi.encode(typeHash, 1, address(bond2), 5, 6, uint64(7)))
        );
    }

    function test_hashAmendment_matchesEip712Encoding() public view {
        bytes32 typeHash = keccak256(
            "Amendment(uint256 repoId,uint8 kind,uint64 newMaturity,int256 newRate,uint256 nonce,uint64 deadline)"
        );
        IRepoEngine.Amendment memory a = IRepoEngine.Amendment(3, 1, 0, -0.02e18, 11, 12);
        assertEq(
            engine.hashAmendment(a),
            keccak256(abi.encode(typeHash, uint256(3), uint8(1), uint64(0), int256(-0.02e18), uint256(11), uint64(12)))
        );
    }

    function test_domainSeparator_bindsChainAndEngine() public view {
        bytes32 expected = keccak256(
            abi.encode(
                keccak256("EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)"),
                keccak256("RepoNet RepoEngine"),
                keccak256("1"),
                block.chainid,
                address(engine)
            )
        );
        assertEq(engine.domainSeparator(), expected);
        assertEq(
            engine.hashTypedData(bytes32(uint256(1))),
            keccak256(abi.encodePacked("\x19\x01", expected, bytes32(uint256(1))))
        );
    }

    function test_constructor_deploysPositionAndGrantsRoles() public view {
        assertEq(position.engine(), address(engine));
        assertTrue(engine.hasRole(engine.DEFAULT_ADMIN_ROLE(), admin));
        assertTrue(engine.hasRole(engine.PAUSER_ROLE(), admin));
        assertEq(address(IRepoMigration(address(engine)).registry()), address(registry));
        assertEq(address(IRepoMigration(address(engine)).oracle()), address(oracle));
        assertEq(engine.MAX_ABS_RATE(), 1000e18);
    }

    function test_getRepo_unknownHasStatusNone() public view {
        assertEq(uint256(engine.getRepo(99).status), uint256(IRepoEngine.RepoStatus.NONE));
    }

    function test_repurchasePrice_revertsIfUnknown() public {
        vm.expectRevert(abi.encodeWithSelector(IRepoEngine.RepoUnknown.selector, 99));
        engine.repurchasePrice(99, uint64(block.timestamp));
    }

    function _expectOpenRevert(IRepoEngine.RepoTerms memory t, bytes memory err) internal {
        bytes memory sSig = _signTerms(sellerKey, t);
        bytes memory bSig = _signTerms(buyerKey, t);
        vm.expectRevert(err);
        engine.open(t, sSig, bSig);
    }
}
