// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";

import {IIdentityRegistry} from "./interfaces/IIdentityRegistry.sol";
import {IRepoShortfalls} from "./interfaces/IRepoShortfalls.sol";

/// @title RepoShortfallLedger
/// @notice Close-out shortfalls as on-chain claims of the creditor on the seller (see {IRepoShortfalls}). Deployed by
/// the engine, which alone records shortfalls and collects them from the seller's cash passing through it.
/// @dev A separate contract so that the engine stays under the 24 KB code size limit. It holds no tokens: a
/// shortfall is a debt, not escrow; the engine pays what it collects straight on to the creditor (or its claim).
/// Each seller's unpaid shortfalls in a token form a queue linked by repo id, oldest first, so that collecting the
/// head and removing a shortfall settled anywhere in it are each one step: no call walks the queue.
contract RepoShortfallLedger is IRepoShortfalls {
    /// @notice Only the engine that deployed the ledger may record and collect.
    error ShortfallLedgerNotEngine(address caller);

    /// @dev One seller's unpaid shortfalls in one token: the oldest and newest repo ids (0 when empty), the sum.
    struct Queue {
        uint256 head;
        uint256 tail;
        uint256 debt;
    }

    address private immutable _engine;
    IIdentityRegistry private immutable _registry;

    mapping(uint256 repoId => Shortfall) private _shortfalls;
    mapping(address seller => mapping(address token => Queue)) private _queues;
    /// @dev The queue's links: the next younger and next older unpaid shortfall of the same seller and token.
    mapping(uint256 repoId => uint256) private _younger;
    mapping(uint256 repoId => uint256) private _older;

    /// @param engine_ the engine allowed to record and collect
    /// @param registry_ the engine's identity registry: a party owes itself nothing
    constructor(address engine_, IIdentityRegistry registry_) {
        _engine = engine_;
        _registry = registry_;
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
            Queue storage q = _queues[s.seller][s.token];
            q.debt -= remaining;
            _unlink(q, repoId);
            emit ShortfallSettled(repoId, remaining);
        }
    }

    /// @notice Records `amount` as `creditor`'s claim on `seller` in `token` for `repoId`, unless both are wallets
    /// of one identity (a holder that is the seller, or its own other wallet, is owed nothing: such a claim would
    /// only jump the queue ahead of the seller's real creditors). Returns what was recorded. Engine only.
    function record(uint256 repoId, address creditor, address seller, address token, uint256 amount)
        external
        onlyEngine
        returns (uint256 recorded)
    {
        if (_sameParty(creditor, seller)) return 0;
        _shortfalls[repoId] = Shortfall(creditor, seller, token, amount, false, false);
        Queue storage q = _queues[seller][token];
        uint256 tail = q.tail;
        if (tail == 0) q.head = repoId;
        else (_younger[tail], _older[repoId]) = (repoId, tail);
        q.tail = repoId;
        q.debt += amount;
        return amount;
    }

    /// @notice Applies up to `available` of `seller`'s cash in `token` to its oldest unpaid shortfall; returns which
    /// repo's creditor is owed how much (`amount` 0 when the seller owes nothing in `token`) and whether the seller
    /// still owes after it. Engine only; the engine calls again, a bounded number of times, while cash and debt
    /// remain. Emits {ShortfallCollected}.
    function collect(address seller, address token, uint256 available)
        external
        onlyEngine
        returns (uint256 repoId, address creditor, uint256 amount, bool owing)
    {
        Queue storage q = _queues[seller][token];
        repoId = q.head;
        if (repoId == 0) return (0, address(0), 0, false);
        Shortfall storage s = _shortfalls[repoId];
        amount = Math.min(available, s.remaining);
        uint256 remaining;
        // Cannot underflow: amount <= s.remaining <= the seller's debt (the sum of its remainders).
        unchecked {
            remaining = s.remaining - amount;
            q.debt -= amount;
        }
        s.remaining = remaining;
        if (remaining == 0) _unlink(q, repoId);
        creditor = s.creditor;
        owing = q.head != 0;
        emit ShortfallCollected(repoId, creditor, amount, remaining);
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
        return _queues[seller][token].debt;
    }

    /// @notice The engine this ledger serves.
    function engine() external view returns (address) {
        return _engine;
    }

    /// @dev Takes `repoId` out of its queue, wherever it stands.
    function _unlink(Queue storage q, uint256 repoId) private {
        uint256 older = _older[repoId];
        uint256 younger = _younger[repoId];
        if (older == 0) q.head = younger;
        else _younger[older] = younger;
        if (younger == 0) q.tail = older;
        else _older[younger] = older;
        delete _older[repoId];
        delete _younger[repoId];
    }

    /// @dev Whether `a` and `b` are one party: the same wallet, or two wallets of one registered identity.
    function _sameParty(address a, address b) private view returns (bool) {
        if (a == b) return true;
        uint256 identity = _registry.identityOf(a);
        return identity != 0 && identity == _registry.identityOf(b);
    }
}
