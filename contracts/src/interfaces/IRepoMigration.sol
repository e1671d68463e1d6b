// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {IIdentityRegistry} from "./IIdentityRegistry.sol";
import {IPriceOracle} from "./IPriceOracle.sol";

/// @title IRepoMigration
/// @notice How a fix to the engine reaches live repos: engines are immutable, and a live repo moves to a successor
/// engine only when both its parties consent (contracts/UPGRADES.md). The admin (the `AdminManager`, so behind its
/// delay and the multisig) names the successor on the old engine ({setSuccessor}) and the predecessor on the new one
/// ({setPredecessor}); it cannot move any repo. The seller and the position holder each call {consentMigration} for
/// that successor; the second consent moves the repo: its collateral and cash margin go to the successor, which
/// imports the stored repo unchanged (dates, rate, accrual, margin call and cure deadline, coupon cursor and
/// election) under a new id and mints the position to the same holder; the old repo ends as `MIGRATED`. Claims and
/// recorded shortfalls stay with the engine that owes or recorded them, and every repo nobody moves keeps its life
/// there. Served by the engine's extension through its fallback, in the engine's own storage and address.
interface IRepoMigration {
    /// @notice The admin named `successor` as the engine live repos may move to (zero: none).
    event SuccessorSet(address indexed successor);

    /// @notice The admin named `predecessor` as the only engine this one imports repos from (zero: none).
    event PredecessorSet(address indexed predecessor);

    /// @notice `party` (seller or position holder) consented to move `repoId` to `successor`.
    event MigrationConsented(uint256 indexed repoId, address indexed party, address indexed successor);

    /// @notice `repoId` moved, with its escrow, to `successor`, where it is `newRepoId`.
    event RepoMigrated(uint256 indexed repoId, address indexed successor, uint256 newRepoId);

    /// @notice `repoId` was imported from `predecessor`, where it was `oldRepoId`.
    event RepoImported(uint256 indexed repoId, address indexed predecessor, uint256 oldRepoId);

    /// @notice `given` is not the successor the admin named (`successor`, zero if none).
    error RepoMigrationNotSuccessor(address given, address successor);

    /// @notice Only the predecessor the admin named may import repos.
    error RepoMigrationNotPredecessor(address caller);

    /// @notice The seller still owes `debt` in close-out shortfalls here in the repo's cash token `token` ({IRepoShortfalls}):
    /// its cash margin may not leave for a successor that does not know of them.
    error RepoMigrationSellerOwesShortfall(address seller, address token, uint256 debt);

    /// @notice The extension's functions run only in the engine's context (through its fallback).
    error RepoMigrationNotDelegated();

    /// @notice Names the engine live repos may move to (zero stops migration); consents given for another successor
    /// no longer count.
    /// Requirements: caller holds the engine's DEFAULT_ADMIN_ROLE (the AdminManager: the multisig and its delay).
    /// Emits {SuccessorSet}.
    /// @param successor_ the new engine; it must name this engine its predecessor and be a registry system account
    function setSuccessor(address successor_) external;

    /// @notice Names the only engine this one imports repos from (zero: none).
    /// Requirements: caller holds the engine's DEFAULT_ADMIN_ROLE. Emits {PredecessorSet}.
    /// @param predecessor_ the old engine
    function setPredecessor(address predecessor_) external;

    /// @notice Consents to move `repoId` to `successor_`; the consent of the other party (seller or current position
    /// holder) already given, the repo moves now.
    /// Requirements: the repo is OPEN, MARGIN_CALLED or DEFAULTED; caller is its seller or its position holder;
    /// `successor_` is the named successor; for the move, the seller owes no close-out shortfall in the repo's cash
    /// token. Emits {MigrationConsented}, and on the move {RepoMigrated}.
    /// @param repoId the repo
    /// @param successor_ the engine consented to (binds the consent to that engine)
    /// @return newRepoId the repo's id in the successor, 0 until both parties consented
    function consentMigration(uint256 repoId, address successor_) external returns (uint256 newRepoId);

    /// @notice Takes over a repo from the predecessor: stores `words` as the new repo and mints its position to
    /// `holder`. The predecessor transferred the repo's collateral and cash margin before the call.
    /// Requirements: caller is the named predecessor. Emits {RepoImported}.
    /// @param oldRepoId the repo's id in the predecessor
    /// @param holder the position holder
    /// @param words the repo in format 1: the engine's earlier 8-word layout (token addresses, the holder in the buyer
    /// word); each engine converts it from and to its own {StoredRepo} layout
    /// @return repoId the repo's id here
    function importRepo(uint256 oldRepoId, address holder, bytes32[8] calldata words) external returns (uint256 repoId);

    /// @notice The engine live repos may move to (zero: none).
    function successor() external view returns (address);

    /// @notice The engine repos may be imported from (zero: none).
    function predecessor() external view returns (address);

    /// @notice The successor `party` consented to for `repoId` (zero: none).
    function migrationConsentOf(uint256 repoId, address party) external view returns (address);

    /// @notice Interns `token` in the engine's token table ({RepoTokens}) ahead of its first repo, so that the open
    /// or substitution that first uses it does not pay the table's two fresh slots (an operator lists a new bond or
    /// cash token here as it lists it on the oracle). Idempotent. Requirements: DEFAULT_ADMIN_ROLE of the engine.
    /// @param token the token
    /// @return index its index (1, 2, ...)
    function listToken(address token) external returns (uint16 index);

    /// @notice The index of `token` in the engine's token table (0: not interned yet).
    function tokenIndexOf(address token) external view returns (uint16);

    /// @notice The identity registry.
    function registry() external view returns (IIdentityRegistry);

    /// @notice The price oracle.
    function oracle() external view returns (IPriceOracle);
}
