// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

/// @title IRepoFx
/// @notice The engine's side of many currencies. A repo's cash token must be a cash token listed on the oracle
/// (GMRA: the contractual currency of the transaction). Collateral whose currency differs is valued in the repo's
/// currency through the oracle's FX pair (the GMRA transaction exchange rate, from the Base Currency view of the
/// lender) and takes an FX haircut on top of the agreed haircut: the oracle's FX haircut for the pair
/// (collateral currency, cash currency) ({IFxOracle.fxTermsOf}), fixed into the repo when it opens or its collateral is
/// substituted.
/// @dev Adjusted value with haircut h and FX haircut f (bps, h + f < 10000), V the oracle's {IFxOracle.valueIn}:
/// `floor(V × (10000 − h − f) / 10000)` — the two haircuts add, as in Basel's comprehensive approach (H_c + H_fx).
interface IRepoFx {
    /// @notice The cash token is not a cash token listed on the oracle.
    error RepoCashTokenNotListed(address cashToken);

    /// @notice Whether a repo's collateral is valued through an FX pair, and the FX haircut fixed into it.
    function fxTermsOf(uint256 repoId) external view returns (bool crossCurrency, uint16 fxHaircutBps);
}
