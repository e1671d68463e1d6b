// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";

import {IIdentityRegistry} from "./interfaces/IIdentityRegistry.sol";
import {RepoClaims} from "./RepoClaims.sol";
import {RepoShortfallLedger} from "./RepoShortfallLedger.sol";

/// @title RepoShortfalls
/// @notice The engine's side of close-out shortfalls: it deploys the {RepoShortfallLedger} and pays every cash amount
/// owed to a seller through {_paySeller}, which first collects that seller's shortfalls in the token, oldest first,
/// paying each creditor (or crediting its claim).
/// @dev One payment collects at most {MAX_COLLECTIONS} shortfalls, so that no number of (tiny) shortfalls can make a
/// step that pays the seller run out of gas, such as another holder's close-out. What is left while the seller still
/// owes is held as the seller's claim; its {claim} collects the next shortfalls first, so the cash never escapes them.
abstract contract RepoShortfalls is RepoClaims {
    /// @notice The most shortfalls one payment to a seller collects.
    uint256 public constant MAX_COLLECTIONS = 16;

    RepoShortfallLedger internal immutable _shortfallLedger;

    /// @param registry_ the engine's identity registry (the ledger records no shortfall a party owes itself)
    constructor(IIdentityRegistry registry_) {
        _shortfallLedger = new RepoShortfallLedger(address(this), registry_);
    }

    /// @notice The ledger of close-out shortfalls ({IRepoShortfalls}): where parties agree a settlement and read
    /// what is owed.
    function shortfallLedger() external view returns (RepoShortfallLedger) {
        return _shortfallLedger;
    }

    /// @dev Pays `amount` of `token` from escrow to `seller`, after collecting the seller's shortfalls in `token`;
    /// holds what is left as the seller's claim if the seller still owes.
    function _paySeller(IERC20 token, address seller, uint256 amount, uint256 repoId) internal {
        bool owing;
        (amount, owing) = _collectShortfalls(token, seller, amount);
        if (owing) _credit(token, seller, amount, repoId);
        else _pay(token, seller, amount, repoId);
    }

    /// @inheritdoc RepoClaims
    function _collectShortfalls(IERC20 token, address seller, uint256 amount)
        internal
        override
        returns (uint256 left, bool owing)
    {
        owing = true;
        for (uint256 n; amount > 0 && owing && n < MAX_COLLECTIONS; ++n) {
            uint256 id;
            address creditor;
            uint256 take;
            (id, creditor, take, owing) = _shortfallLedger.collect(seller, address(token), amount);
            // Cannot underflow: the ledger never returns more than `amount`.
            unchecked {
                amount -= take;
            }
            _pay(token, creditor, take, id);
        }
        return (amount, owing && amount > 0);
    }
}
