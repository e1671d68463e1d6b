// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {ERC721} from "@openzeppelin/contracts/token/ERC721/ERC721.sol";
import {IIdentityRegistry} from "./interfaces/IIdentityRegistry.sol";
import {IRepoPosition} from "./interfaces/IRepoPosition.sol";

/// @title RepoPosition
/// @notice The cash lender's position in a repo as an ERC-721 (tokenId = repoId). Deployed by the RepoEngine in its
/// constructor; only that engine mints and burns. Every holder is a verified wallet: the engine mints only to a wallet
/// it has just verified, a transfer requires `registry.isVerified(to)` and also requires the sender to be verified (a frozen, revoked or expired
/// wallet cannot move a position, as it cannot move a token).
contract RepoPosition is ERC721, IRepoPosition {
    IIdentityRegistry private immutable _registry;
    address private immutable _engine;

    /// @param registry_ the identity registry
    /// @param engine_ the engine allowed to mint and burn
    constructor(IIdentityRegistry registry_, address engine_) ERC721("RepoNet Repo Position", "REPOPOS") {
        _registry = registry_;
        _engine = engine_;
    }

    modifier onlyEngine() {
        if (msg.sender != _engine) revert RepoPositionUnauthorized(msg.sender);
        _;
    }

    /// @inheritdoc IRepoPosition
    function engine() external view returns (address) {
        return _engine;
    }

    /// @notice The identity registry holders are checked against.
    function registry() external view returns (IIdentityRegistry) {
        return _registry;
    }

    /// @inheritdoc IRepoPosition
    function mint(address to, uint256 repoId) external onlyEngine {
        _mint(to, repoId);
    }

    /// @inheritdoc IRepoPosition
    function burn(uint256 repoId) external onlyEngine {
        _burn(repoId);
    }

    /// @dev Transfer: the recipient and the sender must be verified. Mint: the engine has verified the recipient in
    /// the same call (`open` checks the buyer, `importRepo` the holder), so the position does not ask the registry a
    /// second time (−1.6k gas on every open). Burn is unchecked so that a repo can always be closed.
    function _update(address to, uint256 tokenId, address auth) internal override returns (address) {
        if (to != address(0)) {
            address from = _ownerOf(tokenId);
            if (from != address(0)) {
                if (!_registry.isVerified(to)) revert RepoPositionHolderNotVerified(to);
                if (!_registry.isVerified(from)) revert RepoPositionHolderNotVerified(from);
            }
        }
        return super._update(to, tokenId, auth);
    }
}
