// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";

import {IRepoClaims} from "./interfaces/IRepoClaims.sol";

/// @title RepoClaims
/// @notice The engine's claim ledger (see {IRepoClaims}): every payment the engine makes to a party goes through
/// {_pay}, which credits a claim when the token refuses the transfer, instead of reverting the whole step.
abstract contract RepoClaims is IRepoClaims, AccessControl, ReentrancyGuardTransient {
    using SafeERC20 for IERC20;

    /// @notice Executes court-ordered payments of claims ({forceClaim}).
    bytes32 public constant COURT_ORDER_ROLE = keccak256("COURT_ORDER_ROLE");

    mapping(address party => mapping(address token => uint256 amount)) private _claims;
    mapping(address token => uint256 amount) private _totalClaims;

    /// @inheritdoc IRepoClaims
    function claim(address token) external nonReentrant {
        uint256 amount = _take(msg.sender, token);
        bool owing;
        (amount, owing) = _collectShortfalls(IERC20(token), msg.sender, amount);
        // The whole claim is taken; while the caller still owes, what its shortfalls left is credited back.
        emit ClaimPaid(msg.sender, token, owing ? 0 : amount);
        if (owing) return _credit(IERC20(token), msg.sender, amount, 0);
        IERC20(token).safeTransfer(msg.sender, amount);
    }

    /// @inheritdoc IRepoClaims
    function forceClaim(address party, address token, address to, bytes32 orderRef)
        external
        nonReentrant
        onlyRole(COURT_ORDER_ROLE)
    {
        if (orderRef == bytes32(0) || to == address(0)) revert RepoInvalidCourtOrder();
        uint256 amount = _take(party, token);
        emit ClaimForced(party, token, to, amount, orderRef);
        IERC20(token).safeTransfer(to, amount);
    }

    /// @inheritdoc IRepoClaims
    function claimOf(address party, address token) external view returns (uint256) {
        return _claims[party][token];
    }

    /// @inheritdoc IRepoClaims
    function totalClaims(address token) external view returns (uint256) {
        return _totalClaims[token];
    }

    /// @dev Pays `amount` of `token` from escrow to `to`; if the token refuses (the payee frozen or unverified, the
    /// token paused), the amount stays in escrow as `to`'s claim. Never reverts because of the payee.
    function _pay(IERC20 token, address to, uint256 amount, uint256 repoId) internal {
        if (amount > 0 && !token.trySafeTransfer(to, amount)) _credit(token, to, amount, repoId);
    }

    /// @dev Moves `amount` from `from` to `to` for the step; if `to` cannot receive, takes it into escrow (reverting
    /// only for `from`'s own reasons: allowance, balance, status) and credits it to `to`. The engine's only caller
    /// passes `from` = the seller, who must be msg.sender (see the slither triage).
    function _payFrom(IERC20 token, address from, address to, uint256 amount, uint256 repoId) internal {
        if (amount > 0 && !token.trySafeTransferFrom(from, to, amount)) {
            token.safeTransferFrom(from, address(this), amount);
            _credit(token, to, amount, repoId);
        }
    }

    /// @dev Collects `party`'s close-out shortfalls in `token` from `amount` (a bounded number of them, paying their
    /// creditors); returns what is left and whether `party` still owes with cash left over (then it stays a claim).
    function _collectShortfalls(IERC20 token, address party, uint256 amount)
        internal
        virtual
        returns (uint256 left, bool owing);

    function _credit(IERC20 token, address to, uint256 amount, uint256 repoId) internal {
        _claims[to][address(token)] += amount;
        _totalClaims[address(token)] += amount;
        emit ClaimCredited(to, address(token), repoId, amount);
    }

    function _take(address party, address token) private returns (uint256 amount) {
        amount = _claims[party][token];
        if (amount == 0) revert RepoNoClaim(party, token);
        _claims[party][token] = 0;
        _totalClaims[token] -= amount;
    }
}
