// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {SignatureChecker} from "@openzeppelin/contracts/utils/cryptography/SignatureChecker.sol";
import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";
import {Pausable} from "@openzeppelin/contracts/utils/Pausable.sol";

import {IBondCoupons} from "./interfaces/IBondCoupons.sol";
import {IIdentityRegistry} from "./interfaces/IIdentityRegistry.sol";
import {IPermissionedToken} from "./interfaces/IPermissionedToken.sol";
import {IPriceOracle} from "./interfaces/IPriceOracle.sol";
import {IRepoCoupons} from "./interfaces/IRepoCoupons.sol";
import {IRepoEngine} from "./interfaces/IRepoEngine.sol";
import {IRepoFx} from "./interfaces/IRepoFx.sol";
import {IRepoPosition} from "./interfaces/IRepoPosition.sol";
import {RepoCoupons} from "./RepoCoupons.sol";
import {RepoDomain} from "./RepoDomain.sol";
import {RepoMath} from "./RepoMath.sol";
import {RepoMigration} from "./RepoMigration.sol";
import {RepoPosition} from "./RepoPosition.sol";
import {RepoShortfalls} from "./RepoShortfalls.sol";
import {RepoFlags, StoredRepo} from "./RepoStoredRepo.sol";
import {RepoTokens} from "./RepoTokens.sol";
import {RepoTermsHashing} from "./RepoTermsHashing.sol";

/// @title RepoEngine
/// @notice Repo lifecycle and escrow; see {IRepoEngine} for the specification, formulas and the DvP invariant.
/// @dev Deployment: the constructor deploys the {RepoPosition} NFT with this engine as its only minter. The engine's
/// address must then be made a system account in the identity registry (`setSystemAccount`) so that permissioned
/// tokens let it hold escrow. Every state-changing function is `nonReentrant` and follows checks-effects-interactions:
/// all checks, then all storage writes and the event, then the token transfers of the step (any failing leg reverts
/// the whole step) — except that a payment to a party that cannot receive it becomes that party's claim
/// ({RepoClaims}), so the other party's status never blocks a step. Coupons on escrowed collateral are manufactured
/// through {payCoupon} ({IRepoCoupons}); cash owed to a seller first pays its close-out shortfalls ({RepoShortfalls}).
contract RepoEngine is IRepoEngine, IRepoFx, RepoShortfalls, RepoCoupons, Pausable, RepoDomain {
    using SafeERC20 for IERC20;

    /// @notice May pause and unpause {open} and {substitute}.
    bytes32 public constant PAUSER_ROLE = keccak256("PAUSER_ROLE");

    /// @inheritdoc IRepoEngine
    int256 public constant MAX_ABS_RATE = 1000e18;

    /// @dev Prices carry 18 decimals (IPriceOracle.PRICE_DECIMALS).
    uint256 private constant PRICE_SCALE = 1e18;

    IIdentityRegistry private immutable _registry;
    IPriceOracle private immutable _oracle;
    RepoPosition private immutable _position;
    /// @dev {RepoMigration}: migration to a successor engine and cold views, run in this engine's context.
    address private immutable _extension;

    /// @dev Largest period (notice, cure, grace) accepted: 2^32 − 1 seconds (136 years), so that any deadline
    /// derived from one fits the 40-bit time fields below.
    uint64 private constant MAX_PERIOD = type(uint32).max;

    /// @dev Beside Pausable's flag (the next bytes of its slot): `open` reads both in one cold read.
    uint64 private _repoCount;
    mapping(uint256 repoId => StoredRepo) private _repos;
    /// @dev Used nonces as bitmaps, 256 to a word (nonce >> 8 selects the word): sequential nonces share slots.
    mapping(address signer => mapping(uint256 word => uint256 bits)) private _nonces;

    /// @param registry_ the identity registry (parties and position holders must be verified)
    /// @param oracle_ the price oracle of collateral in cash tokens
    /// @param admin receives DEFAULT_ADMIN_ROLE, PAUSER_ROLE and COURT_ORDER_ROLE
    constructor(IIdentityRegistry registry_, IPriceOracle oracle_, address admin) RepoShortfalls(registry_) {
        _registry = registry_;
        _oracle = oracle_;
        _position = new RepoPosition(registry_, address(this));
        uint256 reposSlot;
        uint256 countSlot;
        uint256 countOffset;
        assembly ("memory-safe") {
            reposSlot := _repos.slot
            countSlot := _repoCount.slot
            countOffset := _repoCount.offset
        }
        _extension = address(
            new RepoMigration(registry_, oracle_, _position, _shortfallLedger, reposSlot, countSlot, countOffset)
        );
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
        _grantRole(PAUSER_ROLE, admin);
        _grantRole(COURT_ORDER_ROLE, admin);
    }

    // ------------------------------------------------------------------ open and repurchase

    /// @inheritdoc IRepoEngine
    function open(RepoTerms calldata terms, bytes calldata sellerSig, bytes calldata buyerSig)
        external
        nonReentrant
        whenNotPaused
        returns (uint256 repoId)
    {
        _validateTerms(terms);
        bytes32 termsHash = RepoTermsHashing.hashTerms(terms);
        bytes32 digest = _hashTypedDataV4(termsHash);
        _useNonce(terms.seller, terms.nonce);
        _useNonce(terms.buyer, terms.nonce);
        // The engine calling itself is its GC extension, which checked both members' signed orders instead.
        if (msg.sender != address(this)) {
            _checkSignature(terms.seller, digest, sellerSig);
            _checkSignature(terms.buyer, digest, buyerSig);
        }

        // Effects. Cannot overflow in practice: one increment per transaction.
        repoId = ++_repoCount;
        _storeRepo(repoId, terms);
        _emitOpened(repoId, terms, termsHash);

        // Interactions: the DvP legs.
        IERC20(terms.collateralToken).safeTransferFrom(terms.seller, address(this), terms.collateralAmount);
        IERC20(terms.cashToken).safeTransferFrom(terms.buyer, terms.seller, terms.purchasePrice);
        _position.mint(terms.buyer, terms.seller, repoId);
    }

    /// @inheritdoc IRepoEngine
    function repurchase(uint256 repoId) external nonReentrant {
        StoredRepo storage r = _live(repoId);
        _requireSeller(r, repoId);
        if (r.maturity != 0 && block.timestamp < r.maturity) revert RepoNotMatured(repoId, r.maturity);
        _repurchase(repoId, r, false);
    }

    /// @inheritdoc IRepoEngine
    function repurchaseEarly(uint256 repoId, bytes calldata holderSig, uint256 nonce, uint64 deadline)
        external
        nonReentrant
    {
        StoredRepo storage r = _live(repoId);
        _requireSeller(r, repoId);
        address holder = r.holder;
        _checkDeadline(deadline);
        _useNonce(holder, nonce);
        _checkSignature(
            holder, _hashTypedDataV4(RepoTermsHashing.hashEarlyRepurchase(repoId, nonce, deadline)), holderSig
        );
        _repurchase(repoId, r, true);
    }

    // ------------------------------------------------------------------ margin

    /// @inheritdoc IRepoEngine
    function callMargin(uint256 repoId) external nonReentrant {
        StoredRepo storage r = _known(repoId);
        if (r.status != RepoStatus.OPEN) revert RepoInvalidStatus(repoId, r.status);
        int256 e = _exposure(r);
        if (e <= SafeCast.toInt256(r.minTransferAmount)) {
            revert RepoExposureBelowThreshold(repoId, e, r.minTransferAmount);
        }
        // Fits 40 bits: now < 2^39 and marginCurePeriod <= MAX_PERIOD.
        uint40 cureDeadline = uint40(block.timestamp + r.marginCurePeriod);
        // casting to 'uint256' is safe because e > minTransferAmount >= 0
        // forge-lint: disable-next-line(unsafe-typecast)
        uint256 amount = uint256(e);
        r.status = RepoStatus.MARGIN_CALLED;
        // Fits 216 bits: amount = e <= RP(now) < 2^128 + 2^128 × 2^26 (the PD at MAX_ABS_RATE over 2^40 seconds) + 2^127.
        // forge-lint: disable-next-line(unsafe-typecast)
        r.marginCallOutstanding = uint216(amount);
        r.cureDeadline = cureDeadline;
        emit MarginCalled(repoId, msg.sender, amount, cureDeadline);
    }

    /// @inheritdoc IRepoEngine
    function postMargin(uint256 repoId, uint256 collateralAmount, uint256 cashAmount) external nonReentrant {
        StoredRepo storage r = _live(repoId);
        _requireSeller(r, repoId);
        if (collateralAmount == 0 && cashAmount == 0) revert RepoZeroAmount();
        if (collateralAmount > 0) _requireNoCouponPendingOn(repoId, r);

        bool called = r.status == RepoStatus.MARGIN_CALLED;
        uint256 outstanding = 0;
        if (called) {
            outstanding = r.marginCallOutstanding;
            uint256 value = cashAmount + _adjustedValue(r, _collateralToken(r), collateralAmount);
            // Cannot underflow: only subtracted when value < outstanding.
            unchecked {
                outstanding = value >= outstanding ? 0 : outstanding - value;
            }
        }
        if (collateralAmount > 0) r.collateralAmount = SafeCast.toUint128(r.collateralAmount + collateralAmount);
        if (cashAmount > 0) r.cashMargin = SafeCast.toUint120(r.cashMargin + cashAmount);
        // Fits: outstanding only decreased from the stored 216-bit value.
        if (called) r.marginCallOutstanding = uint216(outstanding);
        bool cured = called && outstanding == 0;
        if (cured) {
            r.status = RepoStatus.OPEN;
            r.cureDeadline = 0;
        }
        emit MarginPosted(repoId, collateralAmount, cashAmount, outstanding);
        if (cured) emit MarginCallCured(repoId);

        if (collateralAmount > 0) {
            IERC20(_collateralToken(r)).safeTransferFrom(msg.sender, address(this), collateralAmount);
        }
        if (cashAmount > 0) IERC20(_cashToken(r)).safeTransferFrom(msg.sender, address(this), cashAmount);
    }

    /// @inheritdoc IRepoEngine
    function withdrawExcess(uint256 repoId, uint256 collateralAmount, uint256 cashAmount) external nonReentrant {
        StoredRepo storage r = _known(repoId);
        _requireSeller(r, repoId);
        if (r.status != RepoStatus.OPEN) revert RepoInvalidStatus(repoId, r.status);
        if (collateralAmount == 0 && cashAmount == 0) revert RepoZeroAmount();
        if (collateralAmount > r.collateralAmount) {
            revert RepoInsufficientCollateral(repoId, r.collateralAmount, collateralAmount);
        }
        if (cashAmount > r.cashMargin) revert RepoInsufficientCashMargin(repoId, r.cashMargin, cashAmount);
        if (collateralAmount > 0) _requireNoCouponPendingOn(repoId, r);

        int256 e = _exposure(r);
        if (e >= -SafeCast.toInt256(r.minTransferAmount)) {
            revert RepoExcessBelowThreshold(repoId, e, r.minTransferAmount);
        }
        // Cannot underflow: both amounts were checked against the balances above.
        uint256 collateralAfter;
        uint256 cashAfter;
        unchecked {
            collateralAfter = r.collateralAmount - collateralAmount;
            cashAfter = r.cashMargin - cashAmount;
        }
        int256 eAfter = RepoMath.exposure(
            _rp(r, uint64(block.timestamp)), _adjustedValue(r, _collateralToken(r), collateralAfter), cashAfter
        );
        if (eAfter > 0) revert RepoWithdrawalUndercollateralizes(repoId, eAfter);

        // Both fit: each is at most the stored 128-bit value.
        r.collateralAmount = uint128(collateralAfter);
        r.cashMargin = uint120(cashAfter);
        emit ExcessWithdrawn(repoId, collateralAmount, cashAmount);

        _paySeller(IERC20(_collateralToken(r)), r.seller, collateralAmount, repoId);
        _paySeller(IERC20(_cashToken(r)), r.seller, cashAmount, repoId);
    }

    // ------------------------------------------------------------------ substitution and amendments

    /// @inheritdoc IRepoEngine
    function substitute(
        uint256 repoId,
        address newCollateralToken,
        uint256 newCollateralAmount,
        bytes calldata holderSig,
        uint256 nonce,
        uint64 deadline
    ) external nonReentrant whenNotPaused {
        StoredRepo storage r = _known(repoId);
        _requireSeller(r, repoId);
        if (r.status != RepoStatus.OPEN) revert RepoInvalidStatus(repoId, r.status);
        if (newCollateralToken == address(0)) revert RepoInvalidToken(newCollateralToken);
        if (newCollateralAmount == 0) revert RepoZeroAmount();
        _requireNoCouponPendingOn(repoId, r);
        _checkDeadline(deadline);
        address holder = r.holder;
        _useNonce(holder, nonce);
        _checkSignature(
            holder,
            _hashTypedDataV4(
                RepoTermsHashing.hashSubstitution(repoId, newCollateralToken, newCollateralAmount, nonce, deadline)
            ),
            holderSig
        );
        {
            uint256 required = _rp(r, uint64(block.timestamp));
            _refixFx(r, newCollateralToken);
            uint256 covered = _adjustedValue(r, newCollateralToken, newCollateralAmount) + r.cashMargin;
            if (covered < required) revert RepoSubstitutionUndercollateralized(repoId, covered, required);
        }

        address oldToken = _collateralToken(r);
        uint256 oldAmount = r.collateralAmount;
        r.collateralTokenIndex = RepoTokens.listed(newCollateralToken);
        r.collateralAmount = SafeCast.toUint128(newCollateralAmount);
        // The new bond's coupons are owed from now on (same slot as the token's index: no extra write).
        r.collateralSince = uint40(block.timestamp);
        r.nextCoupon = 0;
        emit CollateralSubstituted(repoId, oldToken, oldAmount, newCollateralToken, newCollateralAmount);

        IERC20(newCollateralToken).safeTransferFrom(msg.sender, address(this), newCollateralAmount);
        _paySeller(IERC20(oldToken), msg.sender, oldAmount, repoId);
    }

    /// @inheritdoc IRepoEngine
    function amend(Amendment calldata a, bytes calldata sellerSig, bytes calldata holderSig) external nonReentrant {
        StoredRepo storage r = _live(a.repoId);
        if (a.kind > uint8(AmendmentKind.COUPON_ELECTION)) revert RepoInvalidAmendmentKind(a.kind);
        _checkDeadline(a.deadline);
        address seller = r.seller;
        address holder = r.holder;
        bytes32 digest = _hashTypedDataV4(RepoTermsHashing.hashAmendment(a));
        _useNonce(seller, a.nonce);
        if (holder != seller) _useNonce(holder, a.nonce);
        _checkSignature(seller, digest, sellerSig);
        _checkSignature(holder, digest, holderSig);

        if (a.kind == uint8(AmendmentKind.ROLL)) {
            uint64 oldMaturity = r.maturity;
            if (oldMaturity == 0) revert RepoIsOpenRepo(a.repoId);
            _checkMaturity(a.newMaturity);
            r.maturity = uint40(a.newMaturity);
            emit RepoRolled(a.repoId, oldMaturity, a.newMaturity);
        } else if (a.kind == uint8(AmendmentKind.COUPON_ELECTION)) {
            bool toRP = a.newRate != 0;
            r.flags = toRP ? r.flags | RepoFlags.COUPON_TO_RP : r.flags & ~RepoFlags.COUPON_TO_RP;
            emit CouponElectionChanged(a.repoId, toRP);
        } else {
            _checkRate(a.newRate);
            uint64 nowTs = uint64(block.timestamp);
            int256 pd = RepoMath.priceDifferential(
                r.purchasePrice, r.rate, _basis(r), RepoMath.accrualSeconds(r.periodStart, r.maturity, nowTs)
            );
            int256 oldRate = r.rate;
            int256 crystallized = _crystallizedPD(r) + pd;
            r.crystallizedPD = SafeCast.toInt128(crystallized);
            r.flags |= RepoFlags.CRYSTALLIZED;
            r.periodStart = uint40(nowTs);
            // Fits: |newRate| <= MAX_ABS_RATE < 2^71 (checked above).
            r.rate = int72(a.newRate);
            emit RepoRerated(a.repoId, oldRate, a.newRate, crystallized);
        }
    }

    /// @inheritdoc IRepoEngine
    function terminate(uint256 repoId) external nonReentrant {
        StoredRepo storage r = _live(repoId);
        if (msg.sender != r.seller && msg.sender != r.holder) {
            revert RepoNotSellerOrHolder(repoId, msg.sender);
        }
        if (r.maturity != 0) revert RepoIsTermRepo(repoId, r.maturity);
        // Fits 40 bits: now < 2^39 and noticePeriod <= MAX_PERIOD.
        uint64 maturity = uint64(block.timestamp + r.noticePeriod);
        r.maturity = uint40(maturity);
        emit RepoTerminationNoticed(repoId, msg.sender, maturity);
    }

    // ------------------------------------------------------------------ default and close-out

    /// @inheritdoc IRepoEngine
    function declareDefault(uint256 repoId) external nonReentrant {
        StoredRepo storage r = _live(repoId);
        DefaultReason reason = DefaultReason.MARGIN_NOT_CURED;
        if (r.status == RepoStatus.MARGIN_CALLED && _cureLapsed(repoId, r)) {
            reason = DefaultReason.MARGIN_NOT_CURED;
        } else if (_graceLapsed(repoId, r)) {
            reason = DefaultReason.NOT_REPURCHASED_AT_MATURITY;
        } else {
            revert RepoNotInDefault(repoId);
        }
        r.status = RepoStatus.DEFAULTED;
        emit RepoDefaulted(repoId, reason, _rp(r, uint64(block.timestamp)));
    }

    /// @inheritdoc IRepoEngine
    function closeOut(uint256 repoId) external nonReentrant {
        StoredRepo storage r = _known(repoId);
        if (r.status != RepoStatus.DEFAULTED) revert RepoInvalidStatus(repoId, r.status);
        address holder = r.holder;
        if (msg.sender != holder) revert RepoNotHolder(repoId, msg.sender);

        uint256 owed = _rp(r, uint64(block.timestamp));
        uint256 margin = r.cashMargin;
        uint256 collateral = r.collateralAmount;
        uint256 marginApplied = Math.min(margin, owed);
        // owed - marginApplied cannot underflow: marginApplied <= owed.
        (uint256 toHolder, uint256 shortfall) = _collateralForRemainder(r, owed - marginApplied, collateral);

        r.status = RepoStatus.CLOSED_OUT;
        r.collateralAmount = 0;
        r.cashMargin = 0;
        r.marginCallOutstanding = 0;
        r.cureDeadline = 0;
        _keepCouponUnitsOf(repoId, r, collateral);
        address cash = _cashToken(r);
        if (shortfall > 0) shortfall = _shortfallLedger.record(repoId, holder, r.seller, cash, shortfall);
        _position.burn(holder, repoId);
        // Cannot underflow: toHolder <= collateral.
        uint256 toSeller;
        unchecked {
            toSeller = collateral - toHolder;
        }
        emit RepoClosedOut(repoId, holder, owed, marginApplied, toHolder, toSeller);
        if (shortfall > 0) emit RepoShortfallRecorded(repoId, holder, r.seller, shortfall);

        _pay(IERC20(cash), holder, marginApplied, repoId);
        _paySeller(IERC20(cash), r.seller, margin - marginApplied, repoId);
        address bond = _collateralToken(r);
        _pay(IERC20(bond), holder, toHolder, repoId);
        _paySeller(IERC20(bond), r.seller, toSeller, repoId);
    }

    // ------------------------------------------------------------------ manufactured payments

    /// @inheritdoc IRepoCoupons
    function payCoupon(uint256 repoId, uint256 index) external nonReentrant {
        StoredRepo storage r = _known(repoId);
        (IERC20 token, uint256 amount, bool held) = _couponDue(repoId, r, index);
        bool toRP = held && r.flags & RepoFlags.COUPON_TO_RP != 0 && address(token) == _cashToken(r);
        address to = toRP ? r.holder : r.seller;

        r.nextCoupon = SafeCast.toUint16(index + 1);
        if (toRP) {
            r.crystallizedPD = SafeCast.toInt128(_crystallizedPD(r) - SafeCast.toInt256(amount));
            r.flags |= RepoFlags.CRYSTALLIZED;
        }
        emit CouponManufactured(repoId, _collateralToken(r), index, msg.sender, to, amount, toRP);

        if (toRP) {
            _payFrom(token, msg.sender, to, amount, repoId);
        } else {
            // Through escrow, so that the seller's shortfalls are collected first and a frozen seller gets a claim.
            token.safeTransferFrom(msg.sender, address(this), amount);
            _paySeller(token, to, amount, repoId);
        }
    }

    /// @inheritdoc IRepoCoupons
    function couponOwed(uint256 repoId)
        external
        view
        returns (uint256 index, uint64 recordDate, uint64 paymentDate, uint256 units, bool toRP)
    {
        StoredRepo storage r = _known(repoId);
        (index, recordDate, paymentDate) = _nextCoupon(_collateralToken(r), r.collateralSince, r.nextCoupon);
        units = r.status <= RepoStatus.DEFAULTED ? r.collateralAmount : _endedCouponUnits(repoId, recordDate);
        toRP = r.flags & RepoFlags.COUPON_TO_RP != 0;
    }

    // ------------------------------------------------------------------ nonces and pause

    /// @inheritdoc IRepoEngine
    function cancelNonce(uint256 nonce) external {
        _useNonce(msg.sender, nonce);
        emit NonceCancelled(msg.sender, nonce);
    }

    /// @inheritdoc IRepoEngine
    function pause() external onlyRole(PAUSER_ROLE) {
        _pause();
    }

    /// @inheritdoc IRepoEngine
    function unpause() external onlyRole(PAUSER_ROLE) {
        _unpause();
    }

    // ------------------------------------------------------------------ extension

    /// @notice Every function the engine does not declare ({IRepoMigration}: migration to a successor engine, and
    /// `registry()`/`oracle()`) is served by its extension {RepoMigration}, by DELEGATECALL: with this engine's
    /// address, storage and escrow. The extension is fixed at construction (an immutable), so this is not a proxy:
    /// nobody can change the code that runs here.
    fallback() external {
        address extension = _extension;
        assembly ("memory-safe") {
            calldatacopy(0, 0, calldatasize())
            let ok := delegatecall(gas(), extension, 0, calldatasize(), 0, 0)
            returndatacopy(0, 0, returndatasize())
            if iszero(ok) { revert(0, returndatasize()) }
            return(0, returndatasize())
        }
    }

    // ------------------------------------------------------------------ views

    /// @inheritdoc IRepoEngine
    function position() external view returns (IRepoPosition) {
        return _position;
    }

    /// @inheritdoc IRepoEngine
    function positionHolder(uint256 repoId) external view returns (address) {
        StoredRepo storage r = _repos[repoId];
        return _hasPosition(r) ? r.holder : address(0);
    }

    /// @inheritdoc IRepoEngine
    function movePosition(uint256 repoId, address to)
        external
        nonReentrant
        returns (address from, bool approvalSet, address seller)
    {
        StoredRepo storage r = _positionOf(repoId);
        if (!_hasPosition(r)) return (address(0), false, address(0));
        seller = r.seller;
        from = r.holder;
        approvalSet = r.positionApproved;
        r.holder = to;
        r.positionApproved = false;
    }

    /// @inheritdoc IRepoEngine
    function approvePosition(uint256 repoId) external nonReentrant returns (address holder) {
        StoredRepo storage r = _positionOf(repoId);
        if (!_hasPosition(r)) return address(0);
        r.positionApproved = true;
        return r.holder;
    }

    /// @inheritdoc IRepoEngine
    function repoCount() external view returns (uint256) {
        return _repoCount;
    }

    /// @inheritdoc IRepoEngine
    function getRepo(uint256 repoId) external view returns (Repo memory) {
        StoredRepo storage s = _repos[repoId];
        return Repo({
            seller: s.seller,
            buyer: s.holder,
            cashToken: _cashToken(s),
            collateralToken: _collateralToken(s),
            purchasePrice: s.purchasePrice,
            rate: s.rate,
            dayCountBasis: s.status == RepoStatus.NONE ? 0 : _basis(s),
            haircutBps: s.haircutBps,
            status: s.status,
            openedAt: s.openedAt,
            maturity: s.maturity,
            noticePeriod: s.noticePeriod,
            marginCurePeriod: s.marginCurePeriod,
            gracePeriod: s.gracePeriod,
            periodStart: s.periodStart,
            cureDeadline: s.cureDeadline,
            crystallizedPD: s.crystallizedPD,
            collateralAmount: s.collateralAmount,
            cashMargin: s.cashMargin,
            minTransferAmount: s.minTransferAmount,
            marginCallOutstanding: s.marginCallOutstanding
        });
    }

    /// @inheritdoc IRepoEngine
    function repurchasePrice(uint256 repoId, uint64 at) external view returns (uint256) {
        return _rp(_known(repoId), at);
    }

    /// @inheritdoc IRepoEngine
    function exposure(uint256 repoId) external view returns (int256) {
        return _exposure(_known(repoId));
    }

    /// @inheritdoc IRepoEngine
    function collateralValue(uint256 repoId) external view returns (uint256) {
        StoredRepo storage r = _known(repoId);
        return _adjustedValue(r, _collateralToken(r), r.collateralAmount);
    }

    /// @inheritdoc IRepoFx
    function fxTermsOf(uint256 repoId) external view returns (bool crossCurrency, uint16 fxHaircutBps) {
        StoredRepo storage r = _known(repoId);
        return (r.flags & RepoFlags.CROSS_CURRENCY != 0, r.fxHaircutBps);
    }

    /// @inheritdoc IRepoEngine
    function shortfallOf(uint256 repoId) external view returns (uint256) {
        return _shortfallLedger.remainingOf(repoId);
    }

    /// @inheritdoc IRepoEngine
    function nonceUsed(address signer, uint256 nonce) external view returns (bool) {
        return _nonces[signer][nonce >> 8] & (1 << (nonce & 0xff)) != 0;
    }

    /// @inheritdoc IRepoEngine
    function domainSeparator() external view returns (bytes32) {
        return _domainSeparatorV4();
    }

    /// @inheritdoc IRepoEngine
    function hashTerms(RepoTerms calldata terms) external pure returns (bytes32) {
        return RepoTermsHashing.hashTerms(terms);
    }

    /// @inheritdoc IRepoEngine
    function hashEarlyRepurchase(uint256 repoId, uint256 nonce, uint64 deadline) external pure returns (bytes32) {
        return RepoTermsHashing.hashEarlyRepurchase(repoId, nonce, deadline);
    }

    /// @inheritdoc IRepoEngine
    function hashSubstitution(
        uint256 repoId,
        address newCollateralToken,
        uint256 newCollateralAmount,
        uint256 nonce,
        uint64 deadline
    ) external pure returns (bytes32) {
        return RepoTermsHashing.hashSubstitution(repoId, newCollateralToken, newCollateralAmount, nonce, deadline);
    }

    /// @inheritdoc IRepoEngine
    function hashAmendment(Amendment calldata a) external pure returns (bytes32) {
        return RepoTermsHashing.hashAmendment(a);
    }

    /// @inheritdoc IRepoEngine
    function hashTypedData(bytes32 structHash) external view returns (bytes32) {
        return _hashTypedDataV4(structHash);
    }

    // ------------------------------------------------------------------ internals

    function _validateTerms(RepoTerms calldata t) private view {
        if (block.timestamp < t.startTime) revert RepoNotStarted(t.startTime);
        _checkDeadline(t.deadline);
        if (t.seller == t.buyer) revert RepoSameParty(t.seller);
        if (!_registry.isVerified(t.seller)) revert RepoPartyNotVerified(t.seller);
        if (!_registry.isVerified(t.buyer)) revert RepoPartyNotVerified(t.buyer);
        if (t.cashToken == address(0)) revert RepoInvalidToken(t.cashToken);
        if (t.collateralToken == address(0)) revert RepoInvalidToken(t.collateralToken);
        if (t.dayCountBasis != 360 && t.dayCountBasis != 365) revert RepoInvalidDayCountBasis(t.dayCountBasis);
        if (t.haircutBps >= RepoMath.BPS) revert RepoInvalidHaircut(t.haircutBps);
        _checkRate(t.rate);
        if (t.purchasePrice == 0) revert RepoZeroPurchasePrice();
        if (t.collateralAmount == 0) revert RepoZeroAmount();
        if (t.maturity != 0) _checkMaturity(t.maturity);
        if (t.purchasePrice > type(uint128).max) revert RepoAmountTooLarge(t.purchasePrice);
        if (t.collateralAmount > type(uint128).max) revert RepoAmountTooLarge(t.collateralAmount);
        if (t.minTransferAmount > type(uint96).max) revert RepoAmountTooLarge(t.minTransferAmount);
        if (t.noticePeriod > MAX_PERIOD) revert RepoPeriodTooLong(t.noticePeriod);
        if (t.marginCurePeriod > MAX_PERIOD) revert RepoPeriodTooLong(t.marginCurePeriod);
        if (t.gracePeriod > MAX_PERIOD) revert RepoPeriodTooLong(t.gracePeriod);
    }

    /// @dev Writes the new repo as whole words, one SSTORE per slot (field by field costs a read-modify-write per
    /// field). Layout as {StoredRepo}, first field in the low-order bytes; the coupon election (coupons go to the
    /// seller until both parties elect otherwise), nextCoupon, the cash margin and slots 5 and 6 start at zero and
    /// are not written. The buyer is the position's first holder (slot 3). Every value fits its field:
    /// _validateTerms bounded times, periods, rate and amounts, and the haircuts sum below BPS.
    function _storeRepo(uint256 repoId, RepoTerms calldata t) private {
        (bool cross, uint16 fxBps) = _fxTermsOf(t.collateralToken, t.cashToken, t.haircutBps, true);
        (uint16 cashIndex, uint16 collateralIndex) = RepoTokens.listedPair(t.cashToken, t.collateralToken);
        uint256 nowTs = block.timestamp;
        uint256 slot;
        {
            StoredRepo storage r = _repos[repoId];
            assembly ("memory-safe") {
                slot := r.slot
            }
        }
        uint256 flags = (cross ? RepoFlags.CROSS_CURRENCY : 0) | (t.dayCountBasis == 365 ? RepoFlags.BASIS_365 : 0);
        _sstore(
            slot,
            uint256(uint160(t.seller)) | (uint256(uint8(RepoStatus.OPEN)) << 160) | (uint256(t.maturity) << 168)
                | (uint256(t.gracePeriod) << 208) | (flags << 240)
        );
        // casting to 'int72' is safe because |rate| <= MAX_ABS_RATE < 2^71; the word holds its 72-bit two's complement
        // forge-lint: disable-next-line(unsafe-typecast)
        uint256 rate = uint72(int72(t.rate));
        _sstore(slot + 1, t.purchasePrice | (rate << 128) | (nowTs << 200) | (uint256(cashIndex) << 240));
        _sstore(slot + 2, t.collateralAmount);
        // The holder, the collateral's index and collateralSince = now.
        _sstore(slot + 3, uint256(uint160(t.buyer)) | (uint256(collateralIndex) << 160) | (nowTs << 192));
        _sstore(
            slot + 4,
            t.minTransferAmount | (uint256(t.noticePeriod) << 96) | (uint256(t.marginCurePeriod) << 128)
                | (uint256(t.haircutBps) << 160) | (uint256(fxBps) << 176) | (nowTs << 192)
        );
    }

    function _sstore(uint256 slot, uint256 value) private {
        assembly ("memory-safe") {
            sstore(slot, value)
        }
    }

    function _emitOpened(uint256 repoId, RepoTerms calldata t, bytes32 termsHash) private {
        emit RepoOpened(
            repoId,
            t.seller,
            t.buyer,
            termsHash,
            t.cashToken,
            t.purchasePrice,
            t.collateralToken,
            t.collateralAmount,
            t.rate,
            t.maturity
        );
    }

    /// @dev The closing leg: RP(now) to the holder, cash margin applied against it first, collateral and any
    /// excess cash margin to the seller, position burned.
    function _repurchase(uint256 repoId, StoredRepo storage r, bool early) private {
        address holder = r.holder;
        address seller = r.seller;
        uint256 rp = _rp(r, uint64(block.timestamp));
        uint256 margin = r.cashMargin;
        uint256 collateral = r.collateralAmount;
        uint256 marginApplied = Math.min(margin, rp);
        bool called = r.status == RepoStatus.MARGIN_CALLED;

        r.status = RepoStatus.REPURCHASED;
        r.cashMargin = 0;
        r.collateralAmount = 0;
        // An OPEN repo has no call outstanding (a cure clears both fields): its margin-call word is not touched.
        if (called) {
            r.marginCallOutstanding = 0;
            r.cureDeadline = 0;
        }
        _keepCouponUnitsOf(repoId, r, collateral);
        _position.burn(holder, repoId);
        emit RepoRepurchased(repoId, holder, rp, marginApplied, collateral, early);

        IERC20 cash = IERC20(_cashToken(r));
        // Cannot underflow: marginApplied = min(margin, rp).
        unchecked {
            _payFrom(cash, seller, holder, rp - marginApplied, repoId);
            _pay(cash, holder, marginApplied, repoId);
            _paySeller(cash, seller, margin - marginApplied, repoId);
        }
        _paySeller(IERC20(_collateralToken(r)), seller, collateral, repoId);
    }

    /// @dev Collateral units worth `remainder` at the oracle price (rounded up, capped at `collateral`), and the
    /// value still missing when capped.
    function _collateralForRemainder(StoredRepo storage r, uint256 remainder, uint256 collateral)
        private
        view
        returns (uint256 toHolder, uint256 shortfall)
    {
        if (remainder > 0 && collateral > 0) {
            // The oracle values through the FX pair when the collateral's currency differs (same rounding either way).
            address bond = _collateralToken(r);
            address cash = _cashToken(r);
            uint256 needed = _oracle.unitsFor(bond, cash, remainder);
            if (needed <= collateral) return (needed, 0);
            // unitsFor rounds up, so valueIn(needed) >= remainder; capped, the value falls short.
            return (collateral, remainder - _oracle.valueIn(bond, cash, collateral));
        }
        // Nothing owed beyond the cash margin, or no collateral to cover it.
        return (0, remainder);
    }

    /// @dev A margin call's cure period has run out: it started at the call, and time during which the cash or the
    /// collateral token (the seller may cure in either) was paused does not count. Reverts while either is paused.
    function _cureLapsed(uint256 repoId, StoredRepo storage r) private view returns (bool) {
        // Cannot underflow: cureDeadline = call time + marginCurePeriod.
        uint64 calledAt = r.cureDeadline - r.marginCurePeriod;
        uint256 stopped =
            _pausedSince(repoId, _cashToken(r), calledAt) + _pausedSince(repoId, _collateralToken(r), calledAt);
        return block.timestamp > uint256(r.cureDeadline) + stopped;
    }

    /// @dev Maturity plus grace has passed, not counting time after maturity during which the cash token (what the
    /// seller must pay in) was paused. Reverts while it is paused.
    function _graceLapsed(uint256 repoId, StoredRepo storage r) private view returns (bool) {
        uint64 maturity = r.maturity;
        // An open repo (maturity 0) without a termination notice has no grace to lapse.
        if (maturity == 0 || block.timestamp <= maturity) return false;
        return block.timestamp > uint256(maturity) + r.gracePeriod + _pausedSince(repoId, _cashToken(r), maturity);
    }

    /// @dev Seconds `token` has been paused since `from`; reverts {RepoPaymentTokenPaused} while it is paused now.
    /// A token without pause history (not a PermissionedToken) counts as never paused.
    /// Read by a plain staticcall decoded in place (as {RepoCoupons-_nextCoupon}): smaller and cheaper than try/catch.
    function _pausedSince(uint256 repoId, address token, uint64 from) private view returns (uint256 stopped) {
        bytes4 selector = IPermissionedToken.pausedSince.selector;
        uint256 pausedNow;
        assembly ("memory-safe") {
            let m := mload(0x40)
            mstore(m, selector)
            mstore(add(m, 4), from)
            // The call first: Yul evaluates arguments right to left.
            let ok := staticcall(gas(), token, m, 36, m, 64)
            if and(ok, gt(returndatasize(), 63)) {
                pausedNow := mload(m)
                stopped := mload(add(m, 32))
            }
        }
        if (pausedNow != 0) revert RepoPaymentTokenPaused(repoId, token);
    }

    /// @dev Coupon `index` of the repo's collateral bond if it is the next one owed and payable now: its token, its
    /// amount on the units of record, and whether the collateral is still in escrow (OPEN, MARGIN_CALLED, DEFAULTED).
    function _couponDue(uint256 repoId, StoredRepo storage r, uint256 index)
        private
        view
        returns (IERC20 token, uint256 amount, bool held)
    {
        held = r.status <= RepoStatus.DEFAULTED;
        address bond = _collateralToken(r);
        (uint256 expected, uint64 recordDate, uint64 paymentDate) = _nextCoupon(bond, r.collateralSince, r.nextCoupon);
        uint256 units = held ? r.collateralAmount : _endedCouponUnits(repoId, recordDate);
        if (index != expected || paymentDate == 0 || units == 0) revert RepoCouponNotOwed(repoId, index, expected);
        if (block.timestamp < paymentDate) revert RepoCouponNotDue(repoId, index, paymentDate);
        token = IERC20(IBondCoupons(bond).couponToken());
        amount = IBondCoupons(bond).couponAmount(units);
    }

    /// @dev Reverts {RepoCouponPending} if a coupon on the repo's collateral passed its record date unpaid.
    /// @dev The collateral bond is held since `collateralSince` (the open, or the last substitution), kept in the word
    /// of the bond's index, so the coupon rule reads no other repo word.
    function _requireNoCouponPendingOn(uint256 repoId, StoredRepo storage r) private view {
        _requireNoCouponPending(repoId, _collateralToken(r), r.collateralSince, r.nextCoupon);
    }

    /// @dev At a repurchase or close-out: keeps the repo's `collateral` units for a coupon recorded, not yet paid.
    function _keepCouponUnitsOf(uint256 repoId, StoredRepo storage r, uint256 collateral) private {
        _keepCouponUnits(repoId, _collateralToken(r), r.collateralSince, r.nextCoupon, collateral);
    }

    /// @dev The repo's cash token (its index resolved: one cold read of the token table per step).
    function _cashToken(StoredRepo storage r) private view returns (address) {
        return RepoTokens.at(r.cashTokenIndex);
    }

    /// @dev The repo's collateral token (its index resolved).
    function _collateralToken(StoredRepo storage r) private view returns (address) {
        return RepoTokens.at(r.collateralTokenIndex);
    }

    /// @dev The day-count basis: 365 or 360 (a flag; validated at open).
    function _basis(StoredRepo storage r) private view returns (uint16) {
        return r.flags & RepoFlags.BASIS_365 != 0 ? 365 : 360;
    }

    /// @dev The repo of position `repoId`, for the position contract only.
    function _positionOf(uint256 repoId) private view returns (StoredRepo storage) {
        if (msg.sender != address(_position)) revert IRepoPosition.RepoPositionUnauthorized(msg.sender);
        return _repos[repoId];
    }

    /// @dev The position exists from the open until the repurchase, close-out or migration burns it.
    function _hasPosition(StoredRepo storage r) private view returns (bool) {
        return r.status != RepoStatus.NONE && r.status <= RepoStatus.DEFAULTED;
    }

    function _known(uint256 repoId) private view returns (StoredRepo storage r) {
        r = _repos[repoId];
        if (r.status == RepoStatus.NONE) revert RepoUnknown(repoId);
    }

    /// @dev A repo that can still be repurchased, amended or defaulted: OPEN or MARGIN_CALLED (its status read once).
    function _live(uint256 repoId) private view returns (StoredRepo storage r) {
        r = _repos[repoId];
        RepoStatus status = r.status;
        if (status != RepoStatus.OPEN && status != RepoStatus.MARGIN_CALLED) {
            if (status == RepoStatus.NONE) revert RepoUnknown(repoId);
            revert RepoInvalidStatus(repoId, status);
        }
    }

    function _requireSeller(StoredRepo storage r, uint256 repoId) private view {
        if (msg.sender != r.seller) revert RepoNotSeller(repoId, msg.sender);
    }

    function _checkDeadline(uint64 deadline) private view {
        if (block.timestamp > deadline) revert RepoExpired(deadline);
    }

    /// @dev A maturity must lie in the future and fit the 40-bit time fields (year 36812).
    function _checkMaturity(uint64 maturity) private view {
        if (maturity <= block.timestamp || maturity > type(uint40).max) revert RepoInvalidMaturity(maturity);
    }

    function _checkRate(int256 rate) private pure {
        if (rate > MAX_ABS_RATE || rate < -MAX_ABS_RATE) revert RepoInvalidRate(rate);
    }

    /// @dev The signer's mapping is hashed once for the read and the write (plain Solidity, so that the write stays
    /// visible to static analysis; hashing the word's slot once in assembly saves ~65 more).
    function _useNonce(address signer, uint256 nonce) private {
        mapping(uint256 word => uint256 bits) storage words = _nonces[signer];
        uint256 word = nonce >> 8;
        uint256 bit = 1 << (nonce & 0xff);
        uint256 bits = words[word];
        if (bits & bit != 0) revert RepoNonceUsed(signer, nonce);
        words[word] = bits | bit;
    }

    /// @dev ECDSA first, ERC-1271 only if that does not recover `signer` (as Solady's SignatureCheckerLib): a wallet's
    /// code is then never read, which saves a cold account access (2,600 gas) per EOA signer; OpenZeppelin's
    /// `isValidSignatureNow` reads the code first. A contract signer cannot produce an ECDSA signature that recovers
    /// to its own address, so it is still checked by ERC-1271.
    function _checkSignature(address signer, bytes32 digest, bytes calldata signature) private view {
        (address recovered, ECDSA.RecoverError err, bytes32 errArg) = ECDSA.tryRecover(digest, signature);
        // errArg is zero whenever err is NoError; reading it keeps every returned value checked.
        if (err == ECDSA.RecoverError.NoError && errArg == 0 && recovered == signer) return;
        if (!SignatureChecker.isValidERC1271SignatureNow(signer, digest, signature)) {
            revert RepoInvalidSignature(signer);
        }
    }

    function _rp(StoredRepo storage r, uint64 at) private view returns (uint256) {
        return
            RepoMath.repurchasePrice(
                r.purchasePrice, _crystallizedPD(r), r.rate, _basis(r), r.periodStart, r.maturity, at
            );
    }

    /// @dev The crystallized PD, reading its slot only if a re-rate or a coupon off the price ever wrote it.
    function _crystallizedPD(StoredRepo storage r) private view returns (int256) {
        return r.flags & RepoFlags.CRYSTALLIZED != 0 ? r.crystallizedPD : int256(0);
    }

    function _adjustedValue(StoredRepo storage r, address token, uint256 amount) private view returns (uint256) {
        return
            _adjusted(
                token, _cashToken(r), amount, r.flags & RepoFlags.CROSS_CURRENCY != 0, r.haircutBps + r.fxHaircutBps
            );
    }

    /// @dev Haircut-adjusted value in `cash`: through the oracle's FX pair when `cross` ({IRepoFx}).
    function _adjusted(address token, address cash, uint256 amount, bool cross, uint256 haircutBps)
        private
        view
        returns (uint256)
    {
        if (amount == 0) return 0;
        uint256 value = (cross ? _oracle.valueIn : _oracle.valueOf)(token, cash, amount);
        // Fits: the haircut and the FX haircut sum below BPS (checked where the FX haircut is fixed).
        return RepoMath.applyHaircut(value, uint16(haircutBps));
    }

    /// @dev Fixes the FX terms of `newToken` into the repo (a substitution; reverted with it if it fails).
    function _refixFx(StoredRepo storage r, address newToken) private {
        (bool cross, uint16 fxBps) = _fxTermsOf(newToken, _cashToken(r), r.haircutBps, false);
        uint8 flags = r.flags;
        if (cross || flags & RepoFlags.CROSS_CURRENCY != 0) {
            r.flags = cross ? flags | RepoFlags.CROSS_CURRENCY : flags & ~RepoFlags.CROSS_CURRENCY;
            r.fxHaircutBps = fxBps;
        }
    }

    /// @dev Whether `token` is valued in `cash` through an FX pair, and the FX haircut that then applies (one oracle
    /// call); at open, `cash` must be a listed cash token. The two haircuts together must stay below 100 %.
    function _fxTermsOf(address token, address cash, uint16 haircutBps, bool opening)
        private
        view
        returns (bool cross, uint16 fxBps)
    {
        bool listed;
        (listed, cross, fxBps) = _oracle.fxTermsOf(token, cash);
        if (opening && !listed) revert RepoCashTokenNotListed(cash);
        if (uint256(haircutBps) + fxBps >= RepoMath.BPS) revert RepoInvalidHaircut(haircutBps + fxBps);
    }

    function _exposure(StoredRepo storage r) private view returns (int256) {
        return RepoMath.exposure(
            _rp(r, uint64(block.timestamp)), _adjustedValue(r, _collateralToken(r), r.collateralAmount), r.cashMargin
        );
    }
}
