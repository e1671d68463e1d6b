// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {SignatureChecker} from "@openzeppelin/contracts/utils/cryptography/SignatureChecker.sol";

import {IPriceOracle} from "./interfaces/IPriceOracle.sol";
import {IRepoEngine} from "./interfaces/IRepoEngine.sol";
import {IRepoGcSettlement} from "./interfaces/IRepoGcSettlement.sol";
import {RepoDomain} from "./RepoDomain.sol";
import {RepoMath} from "./RepoMath.sol";

/// @title RepoGcSettlement
/// @notice The engine's second extension: settlement of GC order-book fills within both members' signed orders
/// ({IRepoGcSettlement}). Deployed by {RepoMigration}'s constructor and reached through the engine's fallback and
/// then RepoMigration's, both by DELEGATECALL, so it runs with the engine's address and storage; called directly,
/// every function reverts.
/// @dev It opens each repo by calling the engine's own `open` (an external call from the engine to itself, the only
/// one any of the engine's code makes); the engine skips the two parties' signatures of the terms for that caller
/// alone, because this code has just checked both members' order signatures and limits. Its state (each order's
/// filled total, the fill counter) is in an ERC-7201 namespace. Not reentrancy-guarded itself: `open` takes the
/// engine's guard, and every write here happens before that call.
contract RepoGcSettlement is IRepoGcSettlement, RepoDomain {
    /// @custom:storage-location erc7201:reponet.storage.RepoGcSettlement
    struct GcStorage {
        mapping(bytes32 orderHash => uint256 amount) filled;
        uint256 fills;
    }

    /// @dev keccak256(abi.encode(uint256(keccak256("reponet.storage.RepoGcSettlement")) - 1)) & ~bytes32(uint256(0xff))
    bytes32 private constant GC_STORAGE = 0x05a1697fa4c9c6122feba2255686096c12a1e220fd2708f219ddf07ec80e8300;

    bytes32 private constant GC_ORDER_TYPEHASH = keccak256(
        "GcOrder(address maker,address matcher,uint8 side,address cashToken,bytes32 basket,uint64 start,uint64 maturity,"
        "int256 rate,uint256 size,uint256 minFill,uint256 nonce,uint64 deadline)"
    );

    /// @dev The engine's repo nonces for fills: the top bit set, so they never meet a nonce a member signs with.
    uint256 private constant FILL_NONCE_BASE = 1 << 255;

    address private immutable _self;
    IPriceOracle private immutable _oracle;

    /// @param oracle_ the engine's oracle (collateral is valued in the cash token)
    constructor(IPriceOracle oracle_) {
        _self = address(this);
        _oracle = oracle_;
    }

    modifier onlyDelegated() {
        if (address(this) == _self) revert GcNotMatcher(msg.sender);
        _;
    }

    /// @inheritdoc IRepoGcSettlement
    function settleGcFill(
        GcOrder calldata lend,
        bytes calldata lendSig,
        GcOrder calldata borrow,
        bytes calldata borrowSig,
        GcBasket calldata basket,
        GcFill calldata fill
    ) external onlyDelegated returns (uint256 repoId) {
        (bytes32 lendHash, bytes32 borrowHash) = _check(lend, lendSig, borrow, borrowSig, basket, fill);
        GcStorage storage $ = _gc();
        uint256 number = ++$.fills;
        _addFilled($, lendHash, lend.size, fill.amount);
        _addFilled($, borrowHash, borrow.size, fill.amount);
        repoId = IRepoEngine(address(this)).open(_terms(lend, borrow, basket, fill, number), "", "");
        emit GcFillSettled(repoId, lendHash, borrowHash, number, fill.amount, fill.rate);
    }

    /// @inheritdoc IRepoGcSettlement
    function gcFilled(bytes32 orderHash) external view onlyDelegated returns (uint256) {
        return _gc().filled[orderHash];
    }

    /// @inheritdoc IRepoGcSettlement
    function gcOrderHash(GcOrder calldata order) public pure returns (bytes32) {
        return keccak256(abi.encode(GC_ORDER_TYPEHASH, order));
    }

    /// @inheritdoc IRepoGcSettlement
    function gcBasketHash(GcBasket calldata basket) public pure returns (bytes32) {
        return keccak256(abi.encode(basket));
    }

    /// @dev Every check of the fill against the two orders and the basket; returns the orders' hashes.
    function _check(
        GcOrder calldata lend,
        bytes calldata lendSig,
        GcOrder calldata borrow,
        bytes calldata borrowSig,
        GcBasket calldata basket,
        GcFill calldata fill
    ) private view returns (bytes32 lendHash, bytes32 borrowHash) {
        _checkPair(lend, borrow, basket);
        lendHash = _checkOrder(lend, lendSig, fill);
        borrowHash = _checkOrder(borrow, borrowSig, fill);
        if (fill.rate < lend.rate) revert GcOutsideLimit(lendHash, "rate below the lend floor");
        if (fill.rate > borrow.rate) revert GcOutsideLimit(borrowHash, "rate above the borrow cap");
        if (fill.bond >= basket.bonds.length) revert GcOrdersMismatch("bond not in the basket");
        _checkLeastCollateral(basket.bonds[fill.bond], lend.cashToken, fill);
    }

    /// @dev What the two orders must share, and who may fill them.
    function _checkPair(GcOrder calldata lend, GcOrder calldata borrow, GcBasket calldata basket) private view {
        if (msg.sender != lend.matcher || msg.sender != borrow.matcher) revert GcNotMatcher(msg.sender);
        if (lend.side != GcSide.LEND || borrow.side != GcSide.BORROW) revert GcOrdersMismatch("sides");
        if (lend.cashToken != borrow.cashToken) revert GcOrdersMismatch("cash token");
        bytes32 basketHash = gcBasketHash(basket);
        if (lend.basket != basketHash || borrow.basket != basketHash) revert GcOrdersMismatch("basket");
        if (lend.start != borrow.start) revert GcOrdersMismatch("start");
        if (lend.maturity != borrow.maturity) revert GcOrdersMismatch("maturity");
    }

    /// @dev One order's signature, opening day, deadline, nonce and minimum fill; returns its hash.
    function _checkOrder(GcOrder calldata order, bytes calldata sig, GcFill calldata fill)
        private
        view
        returns (bytes32 orderHash)
    {
        orderHash = gcOrderHash(order);
        if (block.timestamp < order.start) revert GcOrderNotStarted(orderHash, order.start);
        if (block.timestamp > order.deadline) revert GcOrderExpired(orderHash, order.deadline);
        if (IRepoEngine(address(this)).nonceUsed(order.maker, order.nonce)) revert GcOrderCancelled(orderHash);
        if (!SignatureChecker.isValidSignatureNow(order.maker, _hashTypedDataV4(orderHash), sig)) {
            revert GcInvalidSignature(order.maker);
        }
        if (fill.amount < order.minFill || fill.amount == 0) {
            revert GcOutsideLimit(orderHash, "below the minimum fill");
        }
    }

    /// @dev The collateral must be the least amount whose haircut value covers the cash.
    function _checkLeastCollateral(GcBond calldata bond, address cashToken, GcFill calldata fill) private view {
        uint256 given = fill.collateralAmount;
        bool covers = given > 0 && _adjusted(bond, cashToken, given) >= fill.amount;
        bool least = given <= 1 || _adjusted(bond, cashToken, given - 1) < fill.amount;
        if (!covers || !least) revert GcCollateralNotLeast(given);
    }

    function _adjusted(GcBond calldata bond, address cashToken, uint256 amount) private view returns (uint256) {
        if (bond.haircutBps >= RepoMath.BPS) revert GcOrdersMismatch("haircut");
        return RepoMath.applyHaircut(_oracle.valueOf(bond.token, cashToken, amount), bond.haircutBps);
    }

    function _addFilled(GcStorage storage $, bytes32 orderHash, uint256 size, uint256 amount) private {
        uint256 filled = $.filled[orderHash] + amount;
        if (filled > size) revert GcOutsideLimit(orderHash, "size exceeded");
        $.filled[orderHash] = filled;
    }

    /// @dev The repo's terms: the borrower sells, the lender buys, now (within the orders' opening day), to the
    /// orders' maturity, on the basket's standard terms; the nonce is the fill's number in the fills' own nonce space.
    function _terms(
        GcOrder calldata lend,
        GcOrder calldata borrow,
        GcBasket calldata basket,
        GcFill calldata fill,
        uint256 number
    ) private view returns (IRepoEngine.RepoTerms memory t) {
        GcBond calldata bond = basket.bonds[fill.bond];
        t.seller = borrow.maker;
        t.buyer = lend.maker;
        t.cashToken = lend.cashToken;
        t.purchasePrice = fill.amount;
        t.rate = fill.rate;
        t.dayCountBasis = basket.dayCountBasis;
        t.startTime = uint64(block.timestamp);
        t.maturity = lend.maturity;
        t.collateralToken = bond.token;
        t.collateralAmount = fill.collateralAmount;
        t.haircutBps = bond.haircutBps;
        t.minTransferAmount = basket.minTransferAmount;
        t.marginCurePeriod = basket.marginCurePeriod;
        t.gracePeriod = basket.gracePeriod;
        t.nonce = FILL_NONCE_BASE | number;
        t.deadline = uint64(block.timestamp);
    }

    function _gc() private pure returns (GcStorage storage $) {
        assembly ("memory-safe") {
            $.slot := GC_STORAGE
        }
    }
}
