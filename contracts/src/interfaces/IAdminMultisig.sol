// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

/// @title IAdminMultisig
/// @notice M-of-N owners approve a call on chain; it runs only once `threshold` (at least two) current owners have
/// approved it. RepoNet's admin: the multisig holds the admin role of the {AdminManager} (an OpenZeppelin
/// AccessManager) with an execution delay, so every admin action needs two signed approvals to schedule it, the
/// delay, and two more to execute it.
/// The owner set and threshold change only through the manager, after the same delay as any other admin action.
/// @dev Approvals are transactions of the owners themselves (no off-chain signatures to replay or malleate).
/// Approvals are counted over the owners at execution time, so a removed owner's approval no longer counts.
interface IAdminMultisig {
    /// @notice An owner proposed a call (and approved it).
    event ProposalCreated(uint256 indexed id, address indexed proposer, address indexed target, bytes data);
    /// @notice An owner approved a proposal.
    event ProposalApproved(uint256 indexed id, address indexed owner);
    /// @notice An owner withdrew its approval.
    event ApprovalRevoked(uint256 indexed id, address indexed owner);
    /// @notice A proposal's call ran.
    event ProposalExecuted(uint256 indexed id, address indexed executor);
    /// @notice An owner was added (by the manager).
    event OwnerAdded(address indexed owner);
    /// @notice An owner was removed (by the manager).
    event OwnerRemoved(address indexed owner);
    /// @notice The threshold changed (by the manager).
    event ThresholdChanged(uint256 threshold);

    /// @notice The caller is not an owner.
    error MultisigNotOwner(address caller);
    /// @notice Only the manager (an admin action that waited the delay) may call this.
    error MultisigNotManager(address caller);
    /// @notice The threshold is below two or above the number of owners.
    error MultisigInvalidThreshold(uint256 threshold, uint256 owners);
    /// @notice The owner is the zero address or already an owner.
    error MultisigInvalidOwner(address owner);
    /// @notice No proposal has this id.
    error MultisigUnknownProposal(uint256 id);
    /// @notice The proposal has already been executed.
    error MultisigAlreadyExecuted(uint256 id);
    /// @notice This owner has already approved this proposal.
    error MultisigAlreadyApproved(uint256 id, address owner);
    /// @notice This owner has not approved this proposal.
    error MultisigNotApproved(uint256 id, address owner);
    /// @notice Fewer current owners approved than the threshold.
    error MultisigNotEnoughApprovals(uint256 id, uint256 approvals, uint256 threshold);
    /// @notice The target is not a contract.
    error MultisigTargetNotContract(address target);

    /// @notice Proposes `data` to be called on `target`, approved by the proposer.
    /// Requirements: caller is an owner; `target` has code.
    /// Emits {ProposalCreated} and {ProposalApproved}.
    /// @return id The proposal's id (sequential from 1).
    function propose(address target, bytes calldata data) external returns (uint256 id);

    /// @notice Approves proposal `id`.
    /// Requirements: caller is an owner that has not approved it; the proposal exists and is not executed.
    /// Emits {ProposalApproved}.
    function approve(uint256 id) external;

    /// @notice Withdraws the caller's approval of proposal `id`.
    /// Requirements: caller is an owner that approved it; the proposal is not executed. Emits {ApprovalRevoked}.
    function revokeApproval(uint256 id) external;

    /// @notice Runs proposal `id`'s call; a revert of the call reverts this (and the proposal stays unexecuted).
    /// Requirements: caller is an owner; at least `threshold` current owners approved; not executed before.
    /// Emits {ProposalExecuted}.
    function execute(uint256 id) external returns (bytes memory result);

    /// @notice Adds `owner`. Requirements: called by the manager. Emits {OwnerAdded}.
    function addOwner(address owner) external;

    /// @notice Removes `owner`. Requirements: called by the manager; the threshold still fits.
    /// Emits {OwnerRemoved}.
    function removeOwner(address owner) external;

    /// @notice Sets the threshold. Requirements: called by the manager; 2 <= threshold <= owners.
    /// Emits {ThresholdChanged}.
    function setThreshold(uint256 threshold) external;

    /// @notice The current owners.
    function owners() external view returns (address[] memory);

    /// @notice The {AdminManager} that alone changes the owners and the threshold.
    function manager() external view returns (address);

    /// @notice Whether `account` is an owner.
    function isOwner(address account) external view returns (bool);

    /// @notice The number of current owners' approvals needed to execute.
    function threshold() external view returns (uint256);

    /// @notice The number of proposals made so far (the latest id).
    function proposalCount() external view returns (uint256);

    /// @notice Proposal `id`: its target, call data, whether it ran, and how many current owners approve it.
    function proposal(uint256 id)
        external
        view
        returns (address target, bytes memory data, bool executed, uint256 approvals);

    /// @notice Whether `owner` approved proposal `id`.
    function hasApproved(uint256 id, address owner) external view returns (bool);
}
