// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";

import {RepoClaims} from "./RepoClaims.sol";
import {RepoShortfallLedger} from "./RepoShortfallLedger.sol";

/// @title RepoShortfalls
/// @notice The engine's side of close-out shortfalls: it deploys the {RepoShortfallLedger} and pays every cash amount
/// owed to a seller through {_paySeller}, which first collects that seller's shortfalls in the token, oldest first,
/// paying each creditor (or crediting its claim).
abstract contract RepoShortfalls is RepoClaims {
    RepoShortfallLedger internal immutable _shortfallLedger;

    constructor() {
        _shortfallLedger = new RepoShortfallLedger(address(this));
    }

    /// @notice The ledger of close-out shortfalls ({IRepoShortfalls}): where parties agree a settlement and read
    /// what is owed.
    function shortfallLedger() external view returns (RepoShortfallLedger) {
        return _shortfallLedger;
    }

    /// @dev Pays `amount` of `token` from escrow to `seller`, after collecting the seller's shortfalls in `token`.
    /// Each round pays off one shortfall or uses up the amount, so the loop ends.
    function _paySeller(IERC20 token, address seller, uint256 amount, uint256 repoId) internal {
        uint256 take = 1;
        while (amount > 0 && take > 0) {
            uint256 id;
            address creditor;
            (id, creditor, take) = _shortfallLedger.collect(seller, address(token), amount);
            // Cannot underflow: the ledger never returns more than `amount`.
            unchecked {
                amount -= take;
            }
            _pay(token, creditor, take, id);
        }
        _pay(token, seller, amount, repoId);
    }
}
