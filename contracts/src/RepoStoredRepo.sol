// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {IRepoEngine} from "./interfaces/IRepoEngine.sol";

/// @dev A repo as stored: {IRepoEngine.Repo} packed into 7 slots (times in 40 bits, periods in 32, amounts in 128,
/// the minimum transfer in 96, the rate in 72, the two tokens as 16-bit indices of {RepoTokens}) so that opening
/// writes 5 of them; {RepoEngine-getRepo} widens it back to the public struct. The position's holder lives here too
/// (slot 3): {RepoPosition} asks the engine who owns a position, so the open writes no owner slot of its own.
/// The repurchase price reads slots 0 and 1 only (maturity, flags, price, rate, period start); the crystallized PD
/// (slot 6, written only by a re-rate or a coupon applied to the price) is read only once the flag says it was
/// written. The margin call (slot 5) is written by a call. Shared by {RepoEngine} and its extension {RepoMigration},
/// which moves a repo to a successor engine in the 8-word format 1 of {IRepoMigration-importRepo} (addresses, not
/// indices), converting both ways.
struct StoredRepo {
    // slot 0: what nearly every step reads, with what the repurchase price and a default need beside the price word
    address seller;
    IRepoEngine.RepoStatus status;
    uint40 maturity;
    uint32 gracePeriod;
    uint8 flags; // RepoFlags: cross currency, coupons to the price, PD crystallized, 365-day basis
    // slot 1: the price
    uint128 purchasePrice;
    int72 rate;
    uint40 periodStart;
    uint16 cashTokenIndex;
    // slot 2: the escrow
    uint128 collateralAmount;
    uint120 cashMargin;
    // slot 3: the position's holder and the collateral bond (what the coupon rule reads)
    address holder;
    uint16 collateralTokenIndex;
    uint16 nextCoupon; // coupons of the collateral bond before this index are paid or not owed
    uint40 collateralSince; // the open, or the last substitution
    bool positionApproved; // an ERC-721 approval of the position may be set: a transfer must clear it
    // slot 4: terms read by the thresholds, terminate, the cure clock and getRepo
    uint96 minTransferAmount;
    uint32 noticePeriod;
    uint32 marginCurePeriod;
    uint16 haircutBps;
    uint16 fxHaircutBps;
    uint40 openedAt;
    // slot 5: the margin call, written together
    uint216 marginCallOutstanding;
    uint40 cureDeadline;
    // slot 6
    int128 crystallizedPD;
}

/// @dev Bits of {StoredRepo-flags}.
library RepoFlags {
    uint8 internal constant CROSS_CURRENCY = 1;
    uint8 internal constant COUPON_TO_RP = 2;
    uint8 internal constant CRYSTALLIZED = 4;
    uint8 internal constant BASIS_365 = 8;
}
