// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {IERC165} from "@openzeppelin/contracts/utils/introspection/IERC165.sol";
import {IERC721} from "@openzeppelin/contracts/token/ERC721/IERC721.sol";
import {IERC721Metadata} from "@openzeppelin/contracts/token/ERC721/extensions/IERC721Metadata.sol";
import {IERC721Errors} from "@openzeppelin/contracts/interfaces/draft-IERC6093.sol";
import {ERC721Utils} from "@openzeppelin/contracts/token/ERC721/utils/ERC721Utils.sol";

import {IIdentityRegistry} from "./interfaces/IIdentityRegistry.sol";
import {IRepoEngine} from "./interfaces/IRepoEngine.sol";
import {IRepoPosition} from "./interfaces/IRepoPosition.sol";

/// @title RepoPosition
/// @notice The cash lender's position in a repo as an ERC-721 (tokenId = repoId). Deployed by the RepoEngine in its
/// constructor; only that engine mints and burns. Every holder is a verified wallet: the engine mints only to a wallet
/// it has just verified, a transfer requires `registry.isVerified(to)` and also requires the sender to be verified (a
/// frozen, revoked or expired wallet cannot move a position, as it cannot move a token).
/// @dev Who holds a position is kept by the engine, in the repo's own storage ({IRepoEngine-positionHolder},
/// {IRepoEngine-movePosition}): the open then writes no owner slot here (one fresh slot, 22,100 gas, fewer), and the
/// engine reads the holder from a repo word it reads anyway. This contract keeps balances, approvals and the events;
/// its errors and behaviour follow OpenZeppelin's ERC721 (5.x), whose private owner mapping it cannot reuse.
contract RepoPosition is IRepoPosition, IERC721Metadata, IERC721Errors {
    IIdentityRegistry private immutable _registry;
    IRepoEngine private immutable _engine;

    mapping(address owner => uint256) private _balances;
    mapping(uint256 tokenId => address) private _tokenApprovals;
    mapping(address owner => mapping(address operator => bool)) private _operatorApprovals;

    /// @param registry_ the identity registry
    /// @param engine_ the engine allowed to mint and burn, which keeps the holders
    constructor(IIdentityRegistry registry_, address engine_) {
        _registry = registry_;
        _engine = IRepoEngine(engine_);
    }

    modifier onlyEngine() {
        if (msg.sender != address(_engine)) revert RepoPositionUnauthorized(msg.sender);
        _;
    }

    /// @inheritdoc IRepoPosition
    function engine() external view returns (address) {
        return address(_engine);
    }

    /// @notice The identity registry holders are checked against.
    function registry() external view returns (IIdentityRegistry) {
        return _registry;
    }

    /// @inheritdoc IERC721Metadata
    function name() external pure returns (string memory) {
        return "RepoNet Repo Position";
    }

    /// @inheritdoc IERC721Metadata
    function symbol() external pure returns (string memory) {
        return "REPOPOS";
    }

    /// @inheritdoc IERC721Metadata
    function tokenURI(uint256 tokenId) external view returns (string memory) {
        _requireOwned(tokenId);
        return "";
    }

    /// @inheritdoc IERC165
    function supportsInterface(bytes4 interfaceId) external pure returns (bool) {
        return interfaceId == type(IERC721).interfaceId || interfaceId == type(IERC721Metadata).interfaceId
            || interfaceId == type(IERC165).interfaceId;
    }

    /// @inheritdoc IERC721
    function balanceOf(address owner) external view returns (uint256) {
        if (owner == address(0)) revert ERC721InvalidOwner(address(0));
        return _balances[owner];
    }

    /// @inheritdoc IERC721
    function ownerOf(uint256 tokenId) external view returns (address) {
        return _requireOwned(tokenId);
    }

    /// @inheritdoc IERC721
    function approve(address to, uint256 tokenId) external {
        // The engine notes that an approval may be set (its next transfer clears it); a revert below undoes that.
        address owner = _engine.approvePosition(tokenId);
        if (owner == address(0)) revert ERC721NonexistentToken(tokenId);
        if (msg.sender != owner && !_operatorApprovals[owner][msg.sender]) revert ERC721InvalidApprover(msg.sender);
        _tokenApprovals[tokenId] = to;
        emit Approval(owner, to, tokenId);
    }

    /// @inheritdoc IERC721
    function getApproved(uint256 tokenId) external view returns (address) {
        _requireOwned(tokenId);
        return _tokenApprovals[tokenId];
    }

    /// @inheritdoc IERC721
    function setApprovalForAll(address operator, bool approved) external {
        if (operator == address(0)) revert ERC721InvalidOperator(operator);
        _operatorApprovals[msg.sender][operator] = approved;
        emit ApprovalForAll(msg.sender, operator, approved);
    }

    /// @inheritdoc IERC721
    function isApprovedForAll(address owner, address operator) external view returns (bool) {
        return _operatorApprovals[owner][operator];
    }

    /// @inheritdoc IERC721
    function transferFrom(address from, address to, uint256 tokenId) public {
        if (to == address(0)) revert ERC721InvalidReceiver(address(0));
        // The engine records the new holder and answers the previous one (zero: no such position). Any revert below
        // undoes it.
        (address owner, bool approvalSet, address seller) = _engine.movePosition(tokenId, to);
        if (owner == address(0)) revert ERC721NonexistentToken(tokenId);
        if (
            msg.sender != owner && !_operatorApprovals[owner][msg.sender]
                && !(approvalSet && _tokenApprovals[tokenId] == msg.sender)
        ) {
            revert ERC721InsufficientApproval(msg.sender, tokenId);
        }
        if (owner != from) revert ERC721IncorrectOwner(from, tokenId, owner);
        _requireNotSellerSide(to, seller);
        if (!_registry.isVerified(to)) revert RepoPositionHolderNotVerified(to);
        if (!_registry.isVerified(from)) revert RepoPositionHolderNotVerified(from);
        // The engine flags every position an approval was given for: without the flag there is none to clear.
        if (approvalSet) _clearApproval(tokenId);
        // Cannot overflow or underflow: a balance counts positions, each held by exactly one owner.
        unchecked {
            _balances[from] -= 1;
            _balances[to] += 1;
        }
        emit Transfer(from, to, tokenId);
    }

    /// @inheritdoc IERC721
    function safeTransferFrom(address from, address to, uint256 tokenId) external {
        safeTransferFrom(from, to, tokenId, "");
    }

    /// @inheritdoc IERC721
    function safeTransferFrom(address from, address to, uint256 tokenId, bytes memory data) public {
        transferFrom(from, to, tokenId);
        ERC721Utils.checkOnERC721Received(msg.sender, from, to, tokenId, data);
    }

    /// @inheritdoc IRepoPosition
    function mint(address to, address seller, uint256 repoId) external onlyEngine {
        if (to == address(0)) revert ERC721InvalidReceiver(address(0));
        _requireNotSellerSide(to, seller);
        // Cannot overflow: one position per repo.
        unchecked {
            _balances[to] += 1;
        }
        emit Transfer(address(0), to, repoId);
    }

    /// @inheritdoc IRepoPosition
    function burn(address holder, uint256 repoId) external onlyEngine {
        _clearApproval(repoId);
        // Cannot underflow: the engine names the holder it minted to or recorded by a transfer.
        unchecked {
            _balances[holder] -= 1;
        }
        emit Transfer(holder, address(0), repoId);
    }

    /// @dev A seller is not its own lender: not the same wallet, nor two wallets of one identity (a system account,
    /// identity 0, is only ever itself).
    function _requireNotSellerSide(address holder, address seller) private view {
        uint256 identity = _registry.identityOf(holder);
        if (holder == seller || (identity != 0 && identity == _registry.identityOf(seller))) {
            revert RepoPositionSellerSide(holder, seller);
        }
    }

    /// @dev A position's approval ends when it moves (read first: a cold write of zero over zero costs more).
    function _clearApproval(uint256 tokenId) private {
        if (_tokenApprovals[tokenId] != address(0)) delete _tokenApprovals[tokenId];
    }

    function _requireOwned(uint256 tokenId) private view returns (address owner) {
        owner = _engine.positionHolder(tokenId);
        if (owner == address(0)) revert ERC721NonexistentToken(tokenId);
    }
}
