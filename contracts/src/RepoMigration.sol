// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {IAccessControl} from "@openzeppelin/contracts/access/IAccessControl.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";

import {IIdentityRegistry} from "./interfaces/IIdentityRegistry.sol";
import {IPriceOracle} from "./interfaces/IPriceOracle.sol";
import {IRepoEngine} from "./interfaces/IRepoEngine.sol";
import {RepoGcSettlement} from "./RepoGcSettlement.sol";
import {IRepoMigration} from "./interfaces/IRepoMigration.sol";
import {IRepoPosition} from "./interfaces/IRepoPosition.sol";
import {IRepoShortfalls} from "./interfaces/IRepoShortfalls.sol";
import {RepoFlags, StoredRepo} from "./RepoStoredRepo.sol";
import {RepoTokens} from "./RepoTokens.sol";

/// @title RepoMigration
/// @notice The engine's extension: moving live repos to a successor engine with both parties' consent
/// ({IRepoMigration}), and the engine's cold views. Deployed by the engine's constructor and reached only through the
/// engine's fallback by DELEGATECALL, so it runs with the engine's address, storage, escrow and reentrancy guard
/// (OpenZeppelin's transient slot is the same in both); called directly, every function reverts.
/// @dev Holds no state of its own. The engine tells it, at construction, where its repo mapping and repo counter live
/// (their `.slot`/`.offset` as the compiler laid them out, so no slot number is written by hand); its own state
/// (successor, predecessor, consents) is in an ERC-7201 namespace that the engine's layout cannot reach. It exists
/// because the engine alone is within a few bytes of EIP-170's 24,576-byte limit; no lifecycle step calls it.
contract RepoMigration is IRepoMigration, ReentrancyGuardTransient {
    using SafeERC20 for IERC20;

    /// @custom:storage-location erc7201:reponet.storage.RepoMigration
    struct MigrationStorage {
        address successor;
        address predecessor;
        mapping(uint256 repoId => mapping(address party => address successor)) consent;
    }

    /// @dev keccak256(abi.encode(uint256(keccak256("reponet.storage.RepoMigration")) - 1)) & ~bytes32(uint256(0xff))
    bytes32 private constant MIGRATION_STORAGE = 0xce43d364423ef51644532bc09877f3d6cd5e18713fe385ba1b60a8d1c3d99100;

    address private immutable _self;
    IIdentityRegistry private immutable _registry;
    IPriceOracle private immutable _oracle;
    IRepoPosition private immutable _position;
    IRepoShortfalls private immutable _shortfalls;
    uint256 private immutable _reposSlot;
    uint256 private immutable _countSlot;
    uint256 private immutable _countShift;
    address private immutable _gcSettlement;

    /// @param registry_ the engine's identity registry
    /// @param oracle_ the engine's oracle
    /// @param position_ the engine's position NFT
    /// @param shortfalls_ the engine's shortfall ledger
    /// @param reposSlot the engine's `mapping(uint256 => StoredRepo)` slot
    /// @param countSlot the slot of the engine's `uint64` repo counter
    /// @param countOffset the counter's byte offset in that slot
    constructor(
        IIdentityRegistry registry_,
        IPriceOracle oracle_,
        IRepoPosition position_,
        IRepoShortfalls shortfalls_,
        uint256 reposSlot,
        uint256 countSlot,
        uint256 countOffset
    ) {
        _self = address(this);
        _registry = registry_;
        _oracle = oracle_;
        _position = position_;
        _shortfalls = shortfalls_;
        _reposSlot = reposSlot;
        _countSlot = countSlot;
        _countShift = countOffset * 8;
        _gcSettlement = address(new RepoGcSettlement(oracle_));
    }

    modifier onlyDelegated() {
        if (address(this) == _self) revert RepoMigrationNotDelegated();
        _;
    }

    modifier onlyEngineAdmin() {
        // The engine's own AccessControl answers (an external call to itself: the role data is the engine's).
        if (!IAccessControl(address(this)).hasRole(0x00, msg.sender)) {
            revert IAccessControl.AccessControlUnauthorizedAccount(msg.sender, 0x00);
        }
        _;
    }

    /// @notice Every function this extension does not declare ({IRepoGcSettlement}: GC order-book fills) is served by
    /// the engine's second extension {RepoGcSettlement}, by DELEGATECALL, still in the engine's address and storage.
    /// Fixed at construction, like this extension; called other than through the engine, it reverts.
    fallback() external onlyDelegated {
        address next = _gcSettlement;
        assembly ("memory-safe") {
            calldatacopy(0, 0, calldatasize())
            let ok := delegatecall(gas(), next, 0, calldatasize(), 0, 0)
            returndatacopy(0, 0, returndatasize())
            if iszero(ok) { revert(0, returndatasize()) }
            return(0, returndatasize())
        }
    }

    /// @inheritdoc IRepoMigration
    function setSuccessor(address successor_) external onlyDelegated onlyEngineAdmin {
        _migration().successor = successor_;
        emit SuccessorSet(successor_);
    }

    /// @inheritdoc IRepoMigration
    function setPredecessor(address predecessor_) external onlyDelegated onlyEngineAdmin {
        _migration().predecessor = predecessor_;
        emit PredecessorSet(predecessor_);
    }

    /// @inheritdoc IRepoMigration
    function consentMigration(uint256 repoId, address successor_)
        external
        onlyDelegated
        nonReentrant
        returns (uint256 newRepoId)
    {
        StoredRepo storage r = _repo(repoId);
        IRepoEngine.RepoStatus status = r.status;
        if (status == IRepoEngine.RepoStatus.NONE) revert IRepoEngine.RepoUnknown(repoId);
        if (status > IRepoEngine.RepoStatus.DEFAULTED) revert IRepoEngine.RepoInvalidStatus(repoId, status);
        MigrationStorage storage $ = _migration();
        address named = $.successor;
        if (successor_ == address(0) || successor_ != named) revert RepoMigrationNotSuccessor(successor_, named);
        address seller = r.seller;
        address holder = r.holder;
        if (msg.sender != seller && msg.sender != holder) revert IRepoEngine.RepoNotSellerOrHolder(repoId, msg.sender);
        $.consent[repoId][msg.sender] = successor_;
        emit MigrationConsented(repoId, msg.sender, successor_);
        if ($.consent[repoId][seller] != successor_ || $.consent[repoId][holder] != successor_) return 0;

        _requireNoShortfall(seller, RepoTokens.at(r.cashTokenIndex));

        // Both consented: the repo in format 1, then the escrow, then the successor's import.
        bytes32[8] memory words = _export(r);
        uint256 collateral = r.collateralAmount;
        uint256 margin = r.cashMargin;
        r.status = IRepoEngine.RepoStatus.MIGRATED;
        r.collateralAmount = 0;
        r.cashMargin = 0;
        _position.burn(holder, repoId);

        if (collateral > 0) IERC20(RepoTokens.at(r.collateralTokenIndex)).safeTransfer(successor_, collateral);
        if (margin > 0) IERC20(RepoTokens.at(r.cashTokenIndex)).safeTransfer(successor_, margin);
        // The successor is the admin's named engine (behind the delay): it mints the new position and emits.
        newRepoId = IRepoMigration(successor_).importRepo(repoId, holder, words);
        emit RepoMigrated(repoId, successor_, newRepoId);
    }

    /// @inheritdoc IRepoMigration
    function importRepo(uint256 oldRepoId, address holder, bytes32[8] calldata words)
        external
        onlyDelegated
        nonReentrant
        returns (uint256 repoId)
    {
        address named = _migration().predecessor;
        if (named == address(0) || msg.sender != named) revert RepoMigrationNotPredecessor(msg.sender);
        repoId = _nextRepoId();
        _import(_repo(repoId), holder, words);
        emit RepoImported(repoId, msg.sender, oldRepoId);
        // The position mints without asking the registry (the engine verifies its recipients): checked here.
        if (!_registry.isVerified(holder)) revert IRepoPosition.RepoPositionHolderNotVerified(holder);
        _position.mint(holder, address(uint160(uint256(words[0]))), repoId);
    }

    /// @inheritdoc IRepoMigration
    function successor() external view onlyDelegated returns (address) {
        return _migration().successor;
    }

    /// @inheritdoc IRepoMigration
    function predecessor() external view onlyDelegated returns (address) {
        return _migration().predecessor;
    }

    /// @inheritdoc IRepoMigration
    function migrationConsentOf(uint256 repoId, address party) external view onlyDelegated returns (address) {
        return _migration().consent[repoId][party];
    }

    /// @inheritdoc IRepoMigration
    function listToken(address token) external onlyDelegated onlyEngineAdmin returns (uint16) {
        if (token == address(0)) revert IRepoEngine.RepoInvalidToken(token);
        return RepoTokens.intern(token);
    }

    /// @inheritdoc IRepoMigration
    function tokenIndexOf(address token) external view onlyDelegated returns (uint16) {
        return RepoTokens.indexOf(token);
    }

    /// @inheritdoc IRepoMigration
    function registry() external view returns (IIdentityRegistry) {
        return _registry;
    }

    /// @inheritdoc IRepoMigration
    function oracle() external view returns (IPriceOracle) {
        return _oracle;
    }

    /// @dev The cash margin would reach the seller through the successor, which knows nothing of this engine's
    /// shortfalls: a seller that owes here in the cash token must pay or settle first.
    function _requireNoShortfall(address seller, address cashToken) private view {
        uint256 debt = _shortfalls.shortfallDebt(seller, cashToken);
        if (debt > 0) revert RepoMigrationSellerOwesShortfall(seller, cashToken, debt);
    }

    /// @dev The repo in format 1 ({IRepoMigration-importRepo}): the engine's earlier 8-word layout, with token
    /// addresses rather than this engine's indices (a successor has its own token table) and the holder as buyer.
    function _export(StoredRepo storage r) private view returns (bytes32[8] memory w) {
        uint256 flags = r.flags;
        w[0] = bytes32(
            uint256(uint160(r.seller)) | (uint256(uint8(r.status)) << 160) | (uint256(r.maturity) << 168)
                | (uint256(r.noticePeriod) << 208) | ((flags & RepoFlags.CROSS_CURRENCY) << 240)
                | (((flags & RepoFlags.COUPON_TO_RP) >> 1) << 248)
        );
        w[1] = bytes32(uint256(uint160(r.holder)) | (uint256(r.minTransferAmount) << 160));
        w[2] = bytes32(
            uint256(uint160(RepoTokens.at(r.cashTokenIndex))) | (uint256(r.marginCurePeriod) << 160)
                | (uint256(r.gracePeriod) << 192) | (uint256(r.haircutBps) << 224) | (uint256(r.fxHaircutBps) << 240)
        );
        w[3] = bytes32(
            uint256(uint160(RepoTokens.at(r.collateralTokenIndex))) | (uint256(r.collateralSince) << 160)
                | (uint256(r.openedAt) << 200) | (uint256(r.nextCoupon) << 240)
        );
        w[4] = bytes32(uint256(r.purchasePrice) | (uint256(r.collateralAmount) << 128));
        uint256 basis = flags & RepoFlags.BASIS_365 != 0 ? 365 : 360;
        // casting to 'uint72' keeps the rate's 72-bit two's complement, as stored
        // forge-lint: disable-next-line(unsafe-typecast)
        uint256 rate = uint72(r.rate);
        w[5] = bytes32(
            rate | (uint256(r.periodStart) << 72) | (basis << 112) | (((flags & RepoFlags.CRYSTALLIZED) >> 2) << 128)
                | (uint256(r.cashMargin) << 136)
        );
        assembly ("memory-safe") {
            let slot := r.slot
            mstore(add(w, 192), sload(add(slot, 5)))
            mstore(add(w, 224), sload(add(slot, 6)))
        }
    }

    /// @dev Stores a repo received in format 1 in this engine's layout ({StoredRepo}), interning its tokens; `holder`
    /// is the position's holder (format 1's buyer word is not trusted for it).
    function _import(StoredRepo storage r, address holder, bytes32[8] calldata words) private {
        uint256 slot;
        assembly ("memory-safe") {
            slot := r.slot
        }
        uint256 w0 = uint256(words[0]);
        uint256 w2 = uint256(words[2]);
        uint256 w3 = uint256(words[3]);
        uint256 w5 = uint256(words[5]);
        uint256 flags = (uint8(w0 >> 240) != 0 ? RepoFlags.CROSS_CURRENCY : 0)
            | (uint8(w0 >> 248) != 0 ? RepoFlags.COUPON_TO_RP : 0)
            | (uint8(w5 >> 128) != 0 ? RepoFlags.CRYSTALLIZED : 0)
            | (uint16(w5 >> 112) == 365 ? RepoFlags.BASIS_365 : 0);
        // Slot 0: seller, status and maturity keep their bits; then grace and the flags.
        _sstore(slot, (w0 & ((1 << 208) - 1)) | (uint256(uint32(w2 >> 192)) << 208) | (flags << 240));
        // Slot 1: price, rate, period start, cash token.
        _sstore(
            slot + 1,
            uint256(uint128(uint256(words[4]))) | (uint256(uint72(w5)) << 128) | (uint256(uint40(w5 >> 72)) << 200)
                | (uint256(RepoTokens.intern(address(uint160(w2)))) << 240)
        );
        // Slot 2: collateral and cash margin.
        _sstore(slot + 2, (uint256(words[4]) >> 128) | ((w5 >> 136) << 128));
        // Slot 3: holder, collateral token, next coupon, collateral since.
        _sstore(
            slot + 3,
            uint256(uint160(holder)) | (uint256(RepoTokens.intern(address(uint160(w3)))) << 160)
                | (uint256(uint16(w3 >> 240)) << 176) | (uint256(uint40(w3 >> 160)) << 192)
        );
        // Slot 4: minimum transfer, notice, cure, haircuts, opened at.
        _sstore(
            slot + 4,
            (uint256(words[1]) >> 160) | (uint256(uint32(w0 >> 208)) << 96) | (uint256(uint32(w2 >> 160)) << 128)
                | (uint256(uint16(w2 >> 224)) << 160) | (uint256(uint16(w2 >> 240)) << 176)
                | (uint256(uint40(w3 >> 200)) << 192)
        );
        // Slots 5 and 6: the margin call and the crystallized PD, same layout.
        _sstore(slot + 5, uint256(words[6]));
        _sstore(slot + 6, uint256(words[7]));
    }

    function _sstore(uint256 slot, uint256 value) private {
        assembly ("memory-safe") {
            sstore(slot, value)
        }
    }

    function _repo(uint256 repoId) private view returns (StoredRepo storage r) {
        bytes32 slot = keccak256(abi.encode(repoId, _reposSlot));
        assembly ("memory-safe") {
            r.slot := slot
        }
    }

    /// @dev Increments the engine's 64-bit repo counter in place (it shares its slot with Pausable's flag).
    function _nextRepoId() private returns (uint256 repoId) {
        uint256 slot = _countSlot;
        uint256 shift = _countShift;
        uint256 word;
        assembly ("memory-safe") {
            word := sload(slot)
        }
        // Cannot overflow 64 bits in practice: one increment per repo.
        repoId = uint256(uint64(word >> shift)) + 1;
        word = (word & ~(uint256(type(uint64).max) << shift)) | (repoId << shift);
        assembly ("memory-safe") {
            sstore(slot, word)
        }
    }

    function _migration() private pure returns (MigrationStorage storage $) {
        assembly ("memory-safe") {
            $.slot := MIGRATION_STORAGE
        }
    }
}
