// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

/// @title IAuditAnchor
/// @notice Anchors the head hashes of the gateway's hash-chained audit log on chain, so anyone can check later
/// that the log was not rewritten. Sequences (the log position of the anchored head) strictly increase.
/// @dev Roles: `DEFAULT_ADMIN_ROLE`; `ANCHOR_ROLE` anchors.
interface IAuditAnchor {
    /// @notice One anchored head.
    /// @param sequence Position of the head entry in the audit log.
    /// @param headHash Hash of the log up to and including that entry.
    /// @param timestamp Block time of anchoring.
    /// @param anchoredBy The account that anchored it.
    struct Anchor {
        uint256 sequence;
        bytes32 headHash;
        uint64 timestamp;
        address anchoredBy;
    }

    /// @notice A head hash was anchored.
    event AuditAnchored(uint256 indexed sequence, bytes32 headHash, uint64 timestamp);

    /// @notice The sequence does not exceed the latest anchored one.
    error AnchorSequenceNotIncreasing(uint256 sequence, uint256 latestSequence);
    /// @notice The head hash is zero.
    error AnchorZeroHash();
    /// @notice No anchor has this index.
    error AnchorIndexOutOfRange(uint256 index, uint256 count);
    /// @notice Nothing has been anchored yet.
    error AnchorNone();
    /// @notice The zero address was given where an account is needed.
    error AnchorZeroAddress();

    /// @notice Anchors the audit log head at `sequence`.
    /// @param sequence Position of the head entry; the first anchor may use any value, later ones must exceed the
    /// latest.
    /// @param headHash The head hash (nonzero).
    /// Requirements:
    /// - caller has `ANCHOR_ROLE`;
    /// - `headHash` is nonzero;
    /// - `sequence` is greater than the latest anchored sequence, if any.
    /// Emits `AuditAnchored`.
    function anchor(uint256 sequence, bytes32 headHash) external;

    /// @notice The number of anchors.
    /// @return The count.
    function anchorCount() external view returns (uint256);

    /// @notice The anchor at `index` (0-based, in anchoring order).
    /// @param index The index.
    /// @return The anchor.
    /// Requirements:
    /// - `index < anchorCount()` (else `AnchorIndexOutOfRange`).
    function anchorAt(uint256 index) external view returns (Anchor memory);

    /// @notice The latest anchor.
    /// @return The anchor.
    /// Requirements:
    /// - at least one anchor exists (else `AnchorNone`).
    function latest() external view returns (Anchor memory);

    /// @notice The head hash anchored for `sequence`.
    /// @param sequence The sequence.
    /// @return The head hash, or 0 if that sequence was not anchored.
    function headAt(uint256 sequence) external view returns (bytes32);
}
