// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {Address} from "@openzeppelin/contracts/utils/Address.sol";
import {IAdminMultisig} from "./interfaces/IAdminMultisig.sol";

/// @title AdminMultisig
/// @notice The M-of-N owner multisig that holds RepoNet's admin role (see {IAdminMultisig}).
contract AdminMultisig is IAdminMultisig {
    struct Proposal {
        address target;
        bool executed;
        bytes data;
    }

    uint256 private constant _MIN_THRESHOLD = 2;

    address private immutable _manager;

    address[] private _owners;
    mapping(address account => bool) private _isOwner;
    uint256 private _threshold;
    uint256 private _proposalCount;
    mapping(uint256 id => Proposal) private _proposals;
    mapping(uint256 id => mapping(address owner => bool)) private _approved;

    modifier onlyOwner() {
        if (!_isOwner[msg.sender]) revert MultisigNotOwner(msg.sender);
        _;
    }

    modifier onlyManager() {
        if (msg.sender != _manager) revert MultisigNotManager(msg.sender);
        _;
    }

    /// @notice Deploys the multisig with `owners_` and `threshold_` (2 <= threshold <= owners); its owner set is
    /// changed only by `manager_` (the {AdminManager}, so an owner change waits the same delay as any admin action).
    constructor(address[] memory owners_, uint256 threshold_, address manager_) {
        if (manager_ == address(0)) revert MultisigInvalidOwner(manager_);
        _manager = manager_;
        for (uint256 i = 0; i < owners_.length; ++i) {
            _addOwner(owners_[i]);
        }
        _setThreshold(threshold_);
    }

    /// @inheritdoc IAdminMultisig
    function propose(address target, bytes calldata data) external onlyOwner returns (uint256 id) {
        if (target.code.length == 0) revert MultisigTargetNotContract(target);
        id = ++_proposalCount;
        _proposals[id] = Proposal({target: target, executed: false, data: data});
        emit ProposalCreated(id, msg.sender, target, data);
        _approved[id][msg.sender] = true;
        emit ProposalApproved(id, msg.sender);
    }

    /// @inheritdoc IAdminMultisig
    function approve(uint256 id) external onlyOwner {
        _requireOpen(id);
        if (_approved[id][msg.sender]) revert MultisigAlreadyApproved(id, msg.sender);
        _approved[id][msg.sender] = true;
        emit ProposalApproved(id, msg.sender);
    }

    /// @inheritdoc IAdminMultisig
    function revokeApproval(uint256 id) external onlyOwner {
        _requireOpen(id);
        if (!_approved[id][msg.sender]) revert MultisigNotApproved(id, msg.sender);
        _approved[id][msg.sender] = false;
        emit ApprovalRevoked(id, msg.sender);
    }

    /// @inheritdoc IAdminMultisig
    function execute(uint256 id) external onlyOwner returns (bytes memory result) {
        _requireOpen(id);
        uint256 approvals = _approvals(id);
        if (approvals < _threshold) revert MultisigNotEnoughApprovals(id, approvals, _threshold);
        Proposal storage p = _proposals[id];
        p.executed = true; // effects before the call: a reentrant execute of the same id reverts
        emit ProposalExecuted(id, msg.sender);
        result = Address.functionCall(p.target, p.data);
    }

    /// @inheritdoc IAdminMultisig
    function addOwner(address owner) external onlyManager {
        _addOwner(owner);
    }

    /// @inheritdoc IAdminMultisig
    function removeOwner(address owner) external onlyManager {
        if (!_isOwner[owner]) revert MultisigInvalidOwner(owner);
        if (_owners.length - 1 < _threshold) revert MultisigInvalidThreshold(_threshold, _owners.length - 1);
        _isOwner[owner] = false;
        uint256 last = _owners.length - 1;
        for (uint256 i = 0; i < last; ++i) {
            if (_owners[i] == owner) {
                _owners[i] = _owners[last];
                break;
            }
        }
        _owners.pop();
        emit OwnerRemoved(owner);
    }

    /// @inheritdoc IAdminMultisig
    function setThreshold(uint256 threshold_) external onlyManager {
        _setThreshold(threshold_);
    }

    /// @inheritdoc IAdminMultisig
    function owners() external view returns (address[] memory) {
        return _owners;
    }

    /// @inheritdoc IAdminMultisig
    function isOwner(address account) external view returns (bool) {
        return _isOwner[account];
    }

    /// @inheritdoc IAdminMultisig
    function manager() external view returns (address) {
        return _manager;
    }

    /// @inheritdoc IAdminMultisig
    function threshold() external view returns (uint256) {
        return _threshold;
    }

    /// @inheritdoc IAdminMultisig
    function proposalCount() external view returns (uint256) {
        return _proposalCount;
    }

    /// @inheritdoc IAdminMultisig
    function proposal(uint256 id)
        external
        view
        returns (address target, bytes memory data, bool executed, uint256 approvals)
    {
        if (id == 0 || id > _proposalCount) revert MultisigUnknownProposal(id);
        Proposal storage p = _proposals[id];
        return (p.target, p.data, p.executed, _approvals(id));
    }

    /// @inheritdoc IAdminMultisig
    function hasApproved(uint256 id, address owner) external view returns (bool) {
        return _approved[id][owner];
    }

    function _requireOpen(uint256 id) private view {
        if (id == 0 || id > _proposalCount) revert MultisigUnknownProposal(id);
        if (_proposals[id].executed) revert MultisigAlreadyExecuted(id);
    }

    /// @dev Counted over the current owners, so approvals of removed owners do not count.
    function _approvals(uint256 id) private view returns (uint256 count) {
        for (uint256 i = 0; i < _owners.length; ++i) {
            if (_approved[id][_owners[i]]) ++count;
        }
    }

    function _addOwner(address owner) private {
        if (owner == address(0) || _isOwner[owner]) revert MultisigInvalidOwner(owner);
        _isOwner[owner] = true;
        _owners.push(owner);
        emit OwnerAdded(owner);
    }

    function _setThreshold(uint256 threshold_) private {
        if (threshold_ < _MIN_THRESHOLD || threshold_ > _owners.length) {
            revert MultisigInvalidThreshold(threshold_, _owners.length);
        }
        _threshold = threshold_;
        emit ThresholdChanged(threshold_);
    }
}
