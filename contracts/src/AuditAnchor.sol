// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {IAuditAnchor} from "./interfaces/IAuditAnchor.sol";

/// @title AuditAnchor
/// @notice Keeps the gateway's audit-log head hashes on chain in strictly increasing sequence order.
/// See {IAuditAnchor}.
contract AuditAnchor is IAuditAnchor, AccessControl {
    /// @notice Anchors head hashes.
    bytes32 public constant ANCHOR_ROLE = keccak256("ANCHOR_ROLE");

    Anchor[] private _anchors;
    mapping(uint256 sequence => bytes32 headHash) private _heads;

    /// @notice Deploys the anchor and grants `DEFAULT_ADMIN_ROLE` and `ANCHOR_ROLE` to `admin`.
    /// @param admin The initial admin and anchorer.
    constructor(address admin) {
        if (admin == address(0)) revert AnchorZeroAddress();
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
        _grantRole(ANCHOR_ROLE, admin);
    }

    /// @inheritdoc IAuditAnchor
    function anchor(uint256 sequence, bytes32 headHash) external onlyRole(ANCHOR_ROLE) {
        if (headHash == bytes32(0)) revert AnchorZeroHash();
        uint256 count = _anchors.length;
        if (count != 0) {
            uint256 latestSequence = _anchors[count - 1].sequence;
            if (sequence <= latestSequence) revert AnchorSequenceNotIncreasing(sequence, latestSequence);
        }
        uint64 timestamp = uint64(block.timestamp);
        _anchors.push(Anchor({sequence: sequence, headHash: headHash, timestamp: timestamp, anchoredBy: msg.sender}));
        _heads[sequence] = headHash;
        emit AuditAnchored(sequence, headHash, timestamp);
    }

    /// @inheritdoc IAuditAnchor
    function anchorCount() external view returns (uint256) {
        return _anchors.length;
    }

    /// @inheritdoc IAuditAnchor
    function anchorAt(uint256 index) external view returns (Anchor memory) {
        uint256 count = _anchors.length;
        if (index >= count) revert AnchorIndexOutOfRange(index, count);
        return _anchors[index];
    }

    /// @inheritdoc IAuditAnchor
    function latest() external view returns (Anchor memory) {
        uint256 count = _anchors.length;
        if (count == 0) revert AnchorNone();
        return _anchors[count - 1];
    }

    /// @inheritdoc IAuditAnchor
    function headAt(uint256 sequence) external view returns (bytes32) {
        return _heads[sequence];
    }
}
