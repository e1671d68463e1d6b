// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {IRepoEngine} from "./interfaces/IRepoEngine.sol";

/// @dev A repo as stored: {IRepoEngine.Repo} packed into 8 slots (times in 40 bits, periods in 32, amounts in 128,
/// the minimum transfer in 96, the rate in 72) with the FX terms and the coupon state in the spare bits, so that
/// opening writes 6 of them; {RepoEngine-getRepo} widens it back to the public struct. The cash margin (120 bits)
/// shares the rate period's word, written at open, so that posting cash never writes a fresh slot; the crystallized PD
/// (written only by a re-rate or a coupon applied to the price, flagged in slot 5 so that the repurchase price
/// reads slots 0, 4 and 5 only until then) and the margin call (written by a call) have their own.
/// Shared by {RepoEngine} and its extension {RepoMigration}; the 8 words, in this layout, are also the format in which
/// a repo moves to a successor engine ({IRepoMigration-importRepo}, format 1).
struct StoredRepo {
    // slot 0: what nearly every step reads
    address seller;
    IRepoEngine.RepoStatus status;
    uint40 maturity;
    uint32 noticePeriod;
    bool crossCurrency;
    bool couponToRP;
    // slot 1: read by getRepo and the margin thresholds only
    address buyer;
    uint96 minTransferAmount;
    // slot 2
    address cashToken;
    uint32 marginCurePeriod;
    uint32 gracePeriod;
    uint16 haircutBps;
    uint16 fxHaircutBps;
    // slot 3
    address collateralToken;
    uint40 collateralSince; // the open, or the last substitution (same word as collateralToken)
    uint40 openedAt;
    uint16 nextCoupon; // coupons of the collateral bond before this index are paid or not owed
    // slot 4
    uint128 purchasePrice;
    uint128 collateralAmount;
    // slot 5: the rate period and the cash margin
    int72 rate;
    uint40 periodStart;
    uint16 dayCountBasis;
    bool crystallized; // crystallizedPD was ever written: until then the price reads no slot 7
    uint120 cashMargin;
    // slot 6: the margin call, written together
    uint216 marginCallOutstanding;
    uint40 cureDeadline;
    // slot 7
    int128 crystallizedPD;
}
