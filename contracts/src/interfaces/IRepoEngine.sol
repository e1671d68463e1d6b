// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {IRepoClaims} from "./IRepoClaims.sol";
import {IRepoPosition} from "./IRepoPosition.sol";

/// @title IRepoEngine
/// @notice Settles repurchase agreements (repo) between KYC-verified parties: the opening leg and the repurchase
/// leg as atomic delivery-versus-payment, and margin, substitution, roll, re-rate, termination, default and
/// close-out by rule. Each live repo is represented by one ERC-721 position (tokenId = repoId, see
/// {IRepoPosition}) held by the cash lender; whoever holds the position receives the cash of the closing leg and
/// gives the consents the buyer gives in GMRA terms (early repurchase, substitution, amendments).
///
/// DvP invariant: every function that moves an asset moves all legs of its step in the same transaction, and any
/// failing leg reverts the whole step; the engine holds, per token, exactly the sum of collateral and cash margin
/// of live repos (status OPEN, MARGIN_CALLED or DEFAULTED) plus the claims of {IRepoClaims}, and never anything
/// else. Nobody is trapped: a payment to a party that cannot receive it (frozen, KYC lapsed, token paused) becomes
/// that party's claim instead of reverting, so repurchase, close-out and margin return never fail because of the
/// other party; and a deadline (grace after maturity, margin cure period) does not run while a token the paying
/// seller needs is paused ({declareDefault}).
///
/// Formulas (GMRA 2011, seconds precision), with r the annual rate at 1e18 scale, B the day-count basis:
/// - price differential of the current rate period: `PD(t) = PP × r × (min(t, T) − t0) / (B × 86400)` where t0 is
///   the start of the current rate period (the open time, or the last re-rate) and T the maturity (no cap for an
///   open repo). Computed exactly (512-bit mulDiv) and rounded toward +infinity for both signs of r, i.e. in the
///   cash lender's favour by less than one smallest unit of the cash token.
/// - repurchase price: `RP(t) = max(0, PP + crystallizedPD + PD(t))`, crystallizedPD being the PD of earlier rate
///   periods (signed). The clamp at zero only matters for absurd negative rates.
/// - exposure (GMRA method B): `E = RP(now) − floor(MV × (10000 − h) / 10000) − cashMargin` where
///   `MV = oracle.valueOf(collateralToken, cashToken, collateralAmount)` (rounded down). Every rounding raises E,
///   again in the cash lender's favour.
///
/// Roles: `DEFAULT_ADMIN_ROLE` administers roles; `PAUSER_ROLE` pauses and unpauses; `COURT_ORDER_ROLE` pays a
/// claim to a court-designated account ({IRepoClaims-forceClaim}). Pause stops {open} and
/// {substitute} only: repurchase, margin, amendments, termination, default and close-out stay available so that
/// nobody is trapped in a position while the engine is paused.
interface IRepoEngine is IRepoClaims {
    /// @notice Lifecycle of a repo. NONE = unknown id; MIGRATED = moved, with its escrow, to the successor engine by
    /// both parties' consent ({IRepoMigration}): it lives on there under a new id.
    enum RepoStatus {
        NONE,
        OPEN,
        MARGIN_CALLED,
        DEFAULTED,
        REPURCHASED,
        CLOSED_OUT,
        MIGRATED
    }

    /// @notice Why a repo was declared in default.
    enum DefaultReason {
        MARGIN_NOT_CURED,
        NOT_REPURCHASED_AT_MATURITY
    }

    /// @notice Amendment kinds.
    enum AmendmentKind {
        ROLL,
        RERATE,
        COUPON_ELECTION
    }

    /// @notice The repo terms both parties sign (EIP-712 type `RepoTerms`, field order is part of the type hash).
    /// @dev `rate` is annual, signed, 18 decimals (5% = 0.05e18); `dayCountBasis` is 360 or 365; `maturity` 0 means an
    /// open repo; `noticePeriod` applies to open repos only; `haircutBps` in basis points; `startTime` and
    /// `deadline` bound the time at which the repo may be opened; `nonce` is consumed for both seller and buyer.
    struct RepoTerms {
        address seller;
        address buyer;
        address cashToken;
        uint256 purchasePrice;
        int256 rate;
        uint16 dayCountBasis;
        uint64 startTime;
        uint64 maturity;
        uint64 noticePeriod;
        address collateralToken;
        uint256 collateralAmount;
        uint16 haircutBps;
        uint256 minTransferAmount;
        uint64 marginCurePeriod;
        uint64 gracePeriod;
        uint256 nonce;
        uint64 deadline;
    }

    /// @notice An amendment both the seller and the position holder sign (EIP-712 type `Amendment`, kind 0 = roll,
    /// 1 = re-rate, 2 = coupon election). A roll reads `newMaturity` and ignores `newRate`; a re-rate reads `newRate`
    /// and ignores `newMaturity`; a coupon election reads `newRate` as a flag (nonzero: coupons on the collateral are
    /// applied to reduce the repurchase price, GMRA 5(ii); zero: passed to the seller, the default) and ignores
    /// `newMaturity`.
    struct Amendment {
        uint256 repoId;
        uint8 kind;
        uint64 newMaturity;
        int256 newRate;
        uint256 nonce;
        uint64 deadline;
    }

    /// @notice The state of one repo.
    /// @param seller cash borrower; gives collateral, owes the repurchase price
    /// @param buyer the position's current holder (its last holder once the position is burned); the original cash
    /// lender is the `buyer` of {RepoOpened}. The engine keeps the holder for {RepoPosition} (one word fewer at open)
    /// @param cashToken tokenized cash of the purchase and repurchase prices and cash margin
    /// @param collateralToken collateral currently in escrow (changes on substitution)
    /// @param purchasePrice PP in cash-token smallest units
    /// @param rate current annual rate, 1e18 scale, signed
    /// @param dayCountBasis 360 or 365
    /// @param haircutBps haircut in basis points
    /// @param status lifecycle status
    /// @param openedAt the actual open time (GMRA purchase date)
    /// @param maturity 0 for an open repo without termination notice
    /// @param noticePeriod termination notice period of an open repo
    /// @param marginCurePeriod time the seller has to meet a margin call
    /// @param gracePeriod time after maturity before a term repo may be declared in default
    /// @param periodStart t0 of the current rate period
    /// @param cureDeadline deadline of the outstanding margin call (0 if none)
    /// @param crystallizedPD price differential of earlier rate periods (signed)
    /// @param collateralAmount collateral in escrow
    /// @param cashMargin cash margin held by the engine
    /// @param minTransferAmount margin threshold
    /// @param marginCallOutstanding part of the margin call not yet met (0 if none)
    struct Repo {
        address seller;
        address buyer;
        address cashToken;
        address collateralToken;
        uint256 purchasePrice;
        int256 rate;
        uint16 dayCountBasis;
        uint16 haircutBps;
        RepoStatus status;
        uint64 openedAt;
        uint64 maturity;
        uint64 noticePeriod;
        uint64 marginCurePeriod;
        uint64 gracePeriod;
        uint64 periodStart;
        uint64 cureDeadline;
        int256 crystallizedPD;
        uint256 collateralAmount;
        uint256 cashMargin;
        uint256 minTransferAmount;
        uint256 marginCallOutstanding;
    }

    // ------------------------------------------------------------------ events

    /// @notice A repo was opened: collateral moved seller → escrow and cash buyer → seller; position minted to buyer.
    /// @param repoId the new repo (and position tokenId)
    /// @param seller cash borrower
    /// @param buyer cash lender, first position holder
    /// @param termsHash EIP-712 struct hash of the signed terms
    /// @param cashToken cash token
    /// @param purchasePrice PP paid to the seller
    /// @param collateralToken collateral token
    /// @param collateralAmount collateral escrowed
    /// @param rate annual rate, 1e18 scale
    /// @param maturity maturity (0 = open repo)
    event RepoOpened(
        uint256 indexed repoId,
        address indexed seller,
        address indexed buyer,
        bytes32 termsHash,
        address cashToken,
        uint256 purchasePrice,
        address collateralToken,
        uint256 collateralAmount,
        int256 rate,
        uint64 maturity
    );

    /// @notice The seller repurchased: `repurchasePrice` went to `holder` (`cashMarginApplied` of it out of cash
    /// margin), collateral and any excess cash margin went back to the seller, the position was burned.
    /// @param repoId the repo
    /// @param holder the position holder paid
    /// @param repurchasePrice RP at repurchase
    /// @param cashMarginApplied part of RP paid out of cash margin
    /// @param collateralReturned collateral returned to the seller
    /// @param early true for {repurchaseEarly}
    event RepoRepurchased(
        uint256 indexed repoId,
        address indexed holder,
        uint256 repurchasePrice,
        uint256 cashMarginApplied,
        uint256 collateralReturned,
        bool early
    );

    /// @notice A margin call of `amount` was made; it must be met before `cureDeadline`.
    /// @param repoId the repo
    /// @param caller who called margin
    /// @param amount exposure at the call
    /// @param cureDeadline the seller must meet the call by this time (inclusive)
    event MarginCalled(uint256 indexed repoId, address indexed caller, uint256 amount, uint64 cureDeadline);

    /// @notice The seller posted margin; `outstandingCall` is what remains of a margin call (0 if none).
    /// @param repoId the repo
    /// @param collateralAmount collateral added to escrow
    /// @param cashAmount cash added to cash margin
    /// @param outstandingCall remaining margin call
    event MarginPosted(uint256 indexed repoId, uint256 collateralAmount, uint256 cashAmount, uint256 outstandingCall);

    /// @notice The outstanding margin call was fully met; the repo is OPEN again.
    /// @param repoId the repo
    event MarginCallCured(uint256 indexed repoId);

    /// @notice The seller took excess margin back.
    /// @param repoId the repo
    /// @param collateralAmount collateral returned
    /// @param cashAmount cash margin returned
    event ExcessWithdrawn(uint256 indexed repoId, uint256 collateralAmount, uint256 cashAmount);

    /// @notice Collateral was substituted with the holder's consent.
    /// @param repoId the repo
    /// @param oldToken collateral token returned to the seller
    /// @param oldAmount amount returned
    /// @param newToken collateral token now in escrow
    /// @param newAmount amount now in escrow
    event CollateralSubstituted(
        uint256 indexed repoId, address oldToken, uint256 oldAmount, address newToken, uint256 newAmount
    );

    /// @notice The maturity of a term repo was changed by seller and holder.
    /// @param repoId the repo
    /// @param oldMaturity previous maturity
    /// @param newMaturity new maturity
    event RepoRolled(uint256 indexed repoId, uint64 oldMaturity, uint64 newMaturity);

    /// @notice The rate was changed by seller and holder; `crystallizedPD` is the total PD of earlier periods.
    /// @param repoId the repo
    /// @param oldRate previous rate
    /// @param newRate rate from now on
    /// @param crystallizedPD PD of all earlier rate periods, signed
    event RepoRerated(uint256 indexed repoId, int256 oldRate, int256 newRate, int256 crystallizedPD);

    /// @notice Termination notice was given on an open repo; it now matures at `maturity`.
    /// @param repoId the repo
    /// @param by the seller or the holder
    /// @param maturity now + notice period
    event RepoTerminationNoticed(uint256 indexed repoId, address indexed by, uint64 maturity);

    /// @notice The repo was declared in default; `owed` is RP at that time.
    /// @param repoId the repo
    /// @param reason margin not cured, or not repurchased by maturity + grace
    /// @param owed RP at the declaration
    event RepoDefaulted(uint256 indexed repoId, DefaultReason reason, uint256 owed);

    /// @notice The holder closed out a defaulted repo.
    /// @param repoId the repo
    /// @param holder the position holder
    /// @param owed RP at close-out
    /// @param cashMarginApplied cash margin paid to the holder
    /// @param collateralToHolder collateral taken by the holder
    /// @param collateralToSeller collateral returned to the seller
    event RepoClosedOut(
        uint256 indexed repoId,
        address indexed holder,
        uint256 owed,
        uint256 cashMarginApplied,
        uint256 collateralToHolder,
        uint256 collateralToSeller
    );

    /// @notice Close-out did not cover what was owed; `amount` is the holder's unsecured claim on the seller.
    /// @param repoId the repo
    /// @param holder the creditor
    /// @param seller the debtor
    /// @param amount owed minus cash margin minus market value of all collateral
    event RepoShortfallRecorded(uint256 indexed repoId, address indexed holder, address indexed seller, uint256 amount);

    /// @notice `signer` cancelled one of its nonces.
    /// @param signer the signer
    /// @param nonce the cancelled nonce
    event NonceCancelled(address indexed signer, uint256 nonce);

    // ------------------------------------------------------------------ errors

    /// @notice `signer` did not sign this typed data (neither ECDSA nor ERC-1271).
    error RepoInvalidSignature(address signer);
    /// @notice The signed instruction expired at `deadline`.
    error RepoExpired(uint64 deadline);
    /// @notice The terms may not be used before `startTime`.
    error RepoNotStarted(uint64 startTime);
    /// @notice `nonce` of `signer` is already used or cancelled.
    error RepoNonceUsed(address signer, uint256 nonce);
    /// @notice `party` is not a verified wallet in the identity registry.
    error RepoPartyNotVerified(address party);
    /// @notice Seller and buyer are the same wallet.
    error RepoSameParty(address party);
    /// @notice A token address is zero.
    error RepoInvalidToken(address token);
    /// @notice The day-count basis is neither 360 nor 365.
    error RepoInvalidDayCountBasis(uint16 basis);
    /// @notice The haircut is not below 10000 bps.
    error RepoInvalidHaircut(uint16 haircutBps);
    /// @notice |rate| exceeds MAX_ABS_RATE.
    error RepoInvalidRate(int256 rate);
    /// @notice The purchase price is zero.
    error RepoZeroPurchasePrice();
    /// @notice An amount that must be positive is zero.
    error RepoZeroAmount();
    /// @notice An amount of the terms does not fit its field: 128 bits (purchase price, collateral), 96 (minimum
    /// transfer).
    error RepoAmountTooLarge(uint256 amount);
    /// @notice A notice, cure or grace period exceeds 2^32 − 1 seconds.
    error RepoPeriodTooLong(uint64 period);
    /// @notice The maturity is neither 0 (open repo) nor in the future (and before 2^40 seconds).
    error RepoInvalidMaturity(uint64 maturity);
    /// @notice No repo has this id.
    error RepoUnknown(uint256 repoId);
    /// @notice The repo is not in a status that allows this step.
    error RepoInvalidStatus(uint256 repoId, RepoStatus status);
    /// @notice Only the seller may do this.
    error RepoNotSeller(uint256 repoId, address caller);
    /// @notice `token`, which the seller needs to pay or cure, is paused: the repo's deadline does not run.
    error RepoPaymentTokenPaused(uint256 repoId, address token);
    /// @notice Only the position holder may do this.
    error RepoNotHolder(uint256 repoId, address caller);
    /// @notice Only the seller or the position holder may do this.
    error RepoNotSellerOrHolder(uint256 repoId, address caller);
    /// @notice A term repo is repurchased before maturity without the holder's consent.
    error RepoNotMatured(uint256 repoId, uint64 maturity);
    /// @notice A roll was asked of an open repo.
    error RepoIsOpenRepo(uint256 repoId);
    /// @notice Termination notice was asked of a term repo (or one already noticed).
    error RepoIsTermRepo(uint256 repoId, uint64 maturity);
    /// @notice Exposure does not exceed the minimum transfer amount: no margin call.
    error RepoExposureBelowThreshold(uint256 repoId, int256 exposure, uint256 minTransferAmount);
    /// @notice Excess (−exposure) does not exceed the minimum transfer amount: no withdrawal.
    error RepoExcessBelowThreshold(uint256 repoId, int256 exposure, uint256 minTransferAmount);
    /// @notice The withdrawal would leave the repo under-collateralised (`exposureAfter` > 0).
    error RepoWithdrawalUndercollateralizes(uint256 repoId, int256 exposureAfter);
    /// @notice More collateral was asked than is in escrow.
    error RepoInsufficientCollateral(uint256 repoId, uint256 available, uint256 requested);
    /// @notice More cash margin was asked than is held.
    error RepoInsufficientCashMargin(uint256 repoId, uint256 available, uint256 requested);
    /// @notice New collateral (haircut-adjusted) plus cash margin does not cover RP(now).
    error RepoSubstitutionUndercollateralized(uint256 repoId, uint256 covered, uint256 required);
    /// @notice The amendment kind is unknown.
    error RepoInvalidAmendmentKind(uint8 kind);
    /// @notice Neither default condition holds.
    error RepoNotInDefault(uint256 repoId);

    // ------------------------------------------------------------------ lifecycle

    /// @notice Opens a repo on terms both parties signed, as one atomic DvP. Anyone may submit.
    /// @dev Accrual starts at `block.timestamp` (the GMRA purchase date), not at `terms.startTime`.
    /// Requirements:
    /// - not paused;
    /// - `terms.startTime <= block.timestamp <= terms.deadline`;
    /// - `terms.nonce` unused for both seller and buyer (it is consumed for both);
    /// - `sellerSig` and `buyerSig` are valid EIP-712 signatures of `terms` (ECDSA or ERC-1271);
    /// - seller and buyer distinct and verified; tokens nonzero; basis 360 or 365; haircut < 10000;
    ///   |rate| <= MAX_ABS_RATE; purchase price and collateral amount > 0; maturity 0 or in the future;
    /// - the seller approved the engine for the collateral and the buyer for the purchase price.
    /// Emits {RepoOpened}.
    /// @param terms the signed terms
    /// @param sellerSig the seller's signature of `terms`
    /// @param buyerSig the buyer's signature of `terms`
    /// @return repoId the new repo's id (sequential from 1) and position tokenId
    function open(RepoTerms calldata terms, bytes calldata sellerSig, bytes calldata buyerSig)
        external
        returns (uint256 repoId);

    /// @notice The seller repurchases: pays RP(now) (less cash margin held) to the position holder, gets the
    /// collateral and any cash margin above RP back; the position is burned.
    /// Requirements:
    /// - caller is the seller; status OPEN or MARGIN_CALLED;
    /// - for a term repo, `block.timestamp >= maturity` (earlier only with {repurchaseEarly});
    /// - the seller approved the engine for RP(now) minus cash margin.
    /// If the holder cannot receive the cash, it is taken into escrow and credited to the holder's claim; likewise
    /// collateral and excess margin the seller cannot receive (see {IRepoClaims}).
    /// Emits {RepoRepurchased}.
    /// @param repoId the repo
    function repurchase(uint256 repoId) external;

    /// @notice Like {repurchase}, before maturity, with the holder's EarlyRepurchase signature.
    /// Requirements: as {repurchase} without the maturity condition; `block.timestamp <= deadline`; the holder's
    /// `nonce` unused (it is consumed); `holderSig` valid for EarlyRepurchase(repoId, nonce, deadline).
    /// Emits {RepoRepurchased}.
    /// @param repoId the repo
    /// @param holderSig the current position holder's signature
    /// @param nonce the holder's nonce
    /// @param deadline signature deadline
    function repurchaseEarly(uint256 repoId, bytes calldata holderSig, uint256 nonce, uint64 deadline) external;

    /// @notice Calls margin when exposure exceeds the minimum transfer amount. Anyone may call.
    /// Requirements: status OPEN; `exposure(repoId) > minTransferAmount` (fresh oracle price).
    /// Emits {MarginCalled} with amount = exposure and cure deadline = now + marginCurePeriod.
    /// @param repoId the repo
    function callMargin(uint256 repoId) external;

    /// @notice The seller posts margin: collateral (same token, added to escrow) and/or cash (held as cash margin).
    /// When a margin call is outstanding, each post reduces it by its value (cash at face, collateral at its
    /// haircut-adjusted market value, rounded down); when it reaches 0 the call is cured and the repo is OPEN.
    /// Requirements: caller is the seller; status OPEN or MARGIN_CALLED; at least one amount > 0; approvals.
    /// Emits {MarginPosted}, and {MarginCallCured} when the call is met.
    /// @param repoId the repo
    /// @param collateralAmount collateral to add
    /// @param cashAmount cash margin to add
    function postMargin(uint256 repoId, uint256 collateralAmount, uint256 cashAmount) external;

    /// @notice The seller takes excess margin back.
    /// Requirements: caller is the seller; status OPEN; `−exposure > minTransferAmount` before the withdrawal;
    /// exposure after the withdrawal <= 0; amounts within escrow; at least one amount > 0.
    /// Emits {ExcessWithdrawn}.
    /// @param repoId the repo
    /// @param collateralAmount collateral to withdraw
    /// @param cashAmount cash margin to withdraw
    function withdrawExcess(uint256 repoId, uint256 collateralAmount, uint256 cashAmount) external;

    /// @notice The seller substitutes the collateral with the holder's consent: new collateral in, all old
    /// collateral out, atomically. The repo's haircut applies to the new collateral.
    /// Requirements: not paused; caller is the seller; status OPEN; `block.timestamp <= deadline`; holder nonce
    /// unused (consumed); `holderSig` valid for Substitution(repoId, newCollateralToken, newCollateralAmount, nonce,
    /// deadline); new amount > 0, token nonzero; haircut-adjusted value of the new collateral plus cash margin
    /// >= RP(now).
    /// Emits {CollateralSubstituted}.
    /// @param repoId the repo
    /// @param newCollateralToken the new collateral token
    /// @param newCollateralAmount the new collateral amount
    /// @param holderSig the holder's signature
    /// @param nonce the holder's nonce
    /// @param deadline signature deadline
    function substitute(
        uint256 repoId,
        address newCollateralToken,
        uint256 newCollateralAmount,
        bytes calldata holderSig,
        uint256 nonce,
        uint64 deadline
    ) external;

    /// @notice Applies an amendment the seller and the holder both signed. Anyone may submit.
    /// Roll (kind 0): term repos only; new maturity > now. Accrual is continuous from the start of the current
    /// rate period to the new maturity (a roll during the grace period therefore also accrues the days since the
    /// old maturity). Re-rate (kind 1): the PD accrued so far at the old rate (up to min(now, maturity)) is
    /// crystallized and the new rate applies from now.
    /// If the holder is the seller (the seller bought the position back), one signature and one nonce suffice.
    /// Requirements: status OPEN or MARGIN_CALLED; `block.timestamp <= a.deadline`; `a.nonce` unused for seller and
    /// holder (consumed for both); both signatures valid; kind 0 or 1; |newRate| <= MAX_ABS_RATE for a re-rate.
    /// Emits {RepoRolled} or {RepoRerated}.
    /// @param a the amendment
    /// @param sellerSig the seller's signature
    /// @param holderSig the position holder's signature
    function amend(Amendment calldata a, bytes calldata sellerSig, bytes calldata holderSig) external;

    /// @notice Gives termination notice on an open repo: maturity = now + noticePeriod; from then on it behaves as
    /// a term repo (PD stops at maturity, default after maturity + grace).
    /// Requirements: caller is the seller or the holder; status OPEN or MARGIN_CALLED; maturity == 0.
    /// Emits {RepoTerminationNoticed}.
    /// @param repoId the repo
    function terminate(uint256 repoId) external;

    /// @notice Declares a default. Anyone may call.
    /// Requirements: (status MARGIN_CALLED and now > cure deadline + S_cure) or (status OPEN or MARGIN_CALLED,
    /// maturity != 0 and now > maturity + gracePeriod + S_grace), where S_cure is the time the cash and the collateral
    /// token were paused since the call and S_grace the time the cash token was paused since maturity: a pause stops
    /// the clock and it resumes after. Reverts {RepoPaymentTokenPaused} while a token that clock depends on is paused.
    /// Emits {RepoDefaulted}.
    /// @param repoId the repo
    function declareDefault(uint256 repoId) external;

    /// @notice The holder closes out a defaulted repo: owed = RP(now); cash margin goes to the holder first (any
    /// excess to the seller); then the holder takes collateral worth the remainder at the oracle price (the
    /// collateral count rounded up, capped at all collateral); the rest of the collateral goes to the seller; a
    /// shortfall is recorded as the holder's unsecured claim on the seller; the position is burned. A leg to a party
    /// that cannot receive (the seller frozen, say) is credited to that party's claim: it never blocks the close-out.
    /// Requirements: caller is the holder; status DEFAULTED; a fresh oracle price when collateral is needed.
    /// Emits {RepoClosedOut}, and {RepoShortfallRecorded} on a shortfall.
    /// @param repoId the repo
    function closeOut(uint256 repoId) external;

    /// @notice Marks one of the caller's nonces used, invalidating anything signed with it.
    /// Requirements: the nonce is unused. Emits {NonceCancelled}.
    /// @param nonce the nonce
    function cancelNonce(uint256 nonce) external;

    /// @notice Stops {open} and {substitute}. Requirements: PAUSER_ROLE. Emits {Paused}.
    function pause() external;

    /// @notice Resumes {open} and {substitute}. Requirements: PAUSER_ROLE. Emits {Unpaused}.
    function unpause() external;

    // ------------------------------------------------------------------ views

    /// @notice The position NFT contract (deployed by the engine in its constructor).
    function position() external view returns (IRepoPosition);

    /// @notice The holder of position `repoId` (zero if the repo is unknown or its position was burned): what
    /// {IRepoPosition} answers as `ownerOf`. The engine keeps the holder in the repo's storage, so that opening writes
    /// no owner slot in the position contract.
    /// @param repoId the repo (and position tokenId)
    function positionHolder(uint256 repoId) external view returns (address);

    /// @notice Records a position transfer: the holder of `repoId` becomes `to`. Requirements: caller is the
    /// position contract (which checks approvals and the registry, and emits {IERC721-Transfer}); not during another
    /// engine step (reentrancy guard), so a holder never changes in the middle of one. A position that does not exist
    /// is left alone and answers zero.
    /// @param repoId the repo (and position tokenId)
    /// @param to the new holder
    /// @return from the holder before the transfer (zero: no such position)
    /// @return approvalSet whether a single-token approval may be set (the position then reads and clears it; the
    /// flag is cleared here)
    /// @return seller the repo's seller (the position refuses a holder of the seller's identity)
    function movePosition(uint256 repoId, address to) external returns (address from, bool approvalSet, address seller);

    /// @notice Notes that a single-token approval of position `repoId` may now be set, so that its next transfer
    /// clears it (a transfer without one reads no approval slot). Requirements: caller is the position contract.
    /// @param repoId the repo (and position tokenId)
    /// @return holder the position's holder (zero: no such position)
    function approvePosition(uint256 repoId) external returns (address holder);

    /// @notice Number of repos opened so far (the last repoId).
    function repoCount() external view returns (uint256);

    /// @notice The state of a repo (status NONE if unknown).
    /// @param repoId the repo
    function getRepo(uint256 repoId) external view returns (Repo memory);

    /// @notice RP at time `at` projected from the current state (`at` before the current rate period counts as its
    /// start). Reverts {RepoUnknown}.
    /// @param repoId the repo
    /// @param at a unix time
    function repurchasePrice(uint256 repoId, uint64 at) external view returns (uint256);

    /// @notice Exposure E (signed; > 0 means the cash lender is under-collateralised). Reverts {RepoUnknown} or on a
    /// missing or stale price.
    /// @param repoId the repo
    function exposure(uint256 repoId) external view returns (int256);

    /// @notice Haircut-adjusted market value of the escrowed collateral, rounded down.
    /// @param repoId the repo
    function collateralValue(uint256 repoId) external view returns (uint256);

    /// @notice Unsecured claim recorded at close-out still unpaid (0 if none; see {IRepoShortfalls}).
    /// @param repoId the repo
    function shortfallOf(uint256 repoId) external view returns (uint256);

    /// @notice Whether `nonce` of `signer` is used or cancelled.
    function nonceUsed(address signer, uint256 nonce) external view returns (bool);

    /// @notice The EIP-712 domain separator (name "RepoNet RepoEngine", version "1", chain id, this contract).
    function domainSeparator() external view returns (bytes32);

    /// @notice EIP-712 struct hash of `terms`.
    function hashTerms(RepoTerms calldata terms) external pure returns (bytes32);

    /// @notice EIP-712 struct hash of EarlyRepurchase(repoId, nonce, deadline).
    function hashEarlyRepurchase(uint256 repoId, uint256 nonce, uint64 deadline) external pure returns (bytes32);

    /// @notice EIP-712 struct hash of Substitution(repoId, newCollateralToken, newCollateralAmount, nonce, deadline).
    function hashSubstitution(
        uint256 repoId,
        address newCollateralToken,
        uint256 newCollateralAmount,
        uint256 nonce,
        uint64 deadline
    ) external pure returns (bytes32);

    /// @notice EIP-712 struct hash of `a`.
    function hashAmendment(Amendment calldata a) external pure returns (bytes32);

    /// @notice The full EIP-712 digest (`\x19\x01 ‖ domainSeparator ‖ structHash`) a signer signs.
    /// @param structHash a struct hash from one of the hash helpers
    function hashTypedData(bytes32 structHash) external view returns (bytes32);

    /// @notice Largest |rate| accepted (1e18 scale): 1000e18, i.e. 100,000% a year.
    function MAX_ABS_RATE() external view returns (int256);
}
