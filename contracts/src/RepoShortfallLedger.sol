// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";

import {IRepoShortfalls} from "./interfaces/IRepoShortfalls.sol";

/// @title RepoShortfallLedger
/// @notice Close-out shortfalls as on-chain claims of the creditor on the seller (see {IRepoShortfalls}). Deployed by
/// the engine, which alone records shortfalls and collects them from the seller's cash passing through it.
/// @dev A separate contract so that the engine stays under the 24 KB code size limit. It holds no tokens: a
/// shortfall is a debt, not escrow; the engine pays what it collects straight on to the creditor (or its claim).
contract RepoShortfallLedger is IRepoShortfalls {
    /// @notice Only the engine that deployed the ledger may record and collect.
    error ShortfallLedgerNotEngine(address caller);

    address private immutable _engine;

    mapping(uint256 repoId => Shortfall) private _shortfalls;
    /// @dev Each seller's shortfalls per token in the order recorded; entries before the head are paid or settled.
    mapping(address seller => mapping(address token => uint256[] repoIds)) private _queue;
    mapping(address seller => mapping(address token => uint256 head)) private _head;
    mapping(address seller => mapping(address token => uint256 amount)) private _debt;

    /// @param engine_ the engine allowed to record and collect
    constructor(address engine_) {
        _engine = engine_;
    }

    modifier onlyEngine() {
        if (msg.sender != _engine) revert ShortfallLedgerNotEngine(msg.sender);
        _;
    }

    /// @inheritdoc IRepoShortfalls
    function agreeShortfallSettled(uint256 repoId) external {
        Shortfall storage s = _shortfalls[repoId];
        uint256 remaining = s.remaining;
        if (remaining == 0) revert RepoNoShortfall(repoId);
        if (msg.sender == s.creditor) s.creditorAgreedSettled = true;
        else if (msg.sender == s.seller) s.sellerAgreedSettled = true;
        else revert RepoNotShortfallParty(repoId, msg.sender);
        emit ShortfallSettlementAgreed(repoId, msg.sender);
        if (s.creditorAgreedSettled && s.sellerAgreedSettled) {
            s.remaining = 0;
            _debt[s.seller][s.token] -= remaining;
            emit ShortfallSettled(repoId, remaining);
        }
    }

    /// @notice Records `amount` as `creditor`'s claim on `seller` in `token` for `repoId`. Engine only.
    function record(uint256 repoId, address creditor, address seller, address token, uint256 amount)
        external
        onlyEngine
    {
        _shortfalls[repoId] = Shortfall(creditor, seller, token, amount, false, false);
        _queue[seller][token].push(repoId);
        _debt[seller][token] += amount;
    }

    /// @notice Applies up to `available` of `seller`'s cash in `token` to its oldest unpaid shortfall; returns which
    /// repo's creditor is owed how much (`amount` 0 when the seller owes nothing in `token`). Engine only; the engine
    /// calls again while cash and debt remain. Emits {ShortfallCollected}.
    function collect(address seller, address token, uint256 available)
        external
        onlyEngine
        returns (uint256 repoId, address creditor, uint256 amount)
    {
        if (_debt[seller][token] == 0) return (0, address(0), 0);
        uint256[] storage queue = _queue[seller][token];
        uint256 head = _head[seller][token];
        // Settled shortfalls stay in the queue with nothing remaining: skip them. The debt is nonzero, so an
        // unpaid one lies ahead.
        while (_shortfalls[queue[head]].remaining == 0) ++head;
        repoId = queue[head];
        Shortfall storage s = _shortfalls[repoId];
        amount = Math.min(available, s.remaining);
        // Cannot underflow: amount <= s.remaining <= the seller's debt (the sum of its remainders).
        unchecked {
            s.remaining -= amount;
            _debt[seller][token] -= amount;
        }
        if (s.remaining == 0) ++head;
        _head[seller][token] = head;
        creditor = s.creditor;
        emit ShortfallCollected(repoId, creditor, amount, s.remaining);
    }

    /// @inheritdoc IRepoShortfalls
    function shortfall(uint256 repoId) external view returns (Shortfall memory) {
        return _shortfalls[repoId];
    }

    /// @notice Unpaid shortfall of `repoId`.
    function remainingOf(uint256 repoId) external view returns (uint256) {
        return _shortfalls[repoId].remaining;
    }

    /// @inheritdoc IRepoShortfalls
    function shortfallDebt(address seller, address token) external view returns (uint256) {
        return _debt[seller][token];
    }

    /// @notice The engine this ledger serves.
    function engine() external view returns (address) {
        return _engine;
    }
}
