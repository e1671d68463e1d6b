// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {IdentityRegistry} from "../../src/IdentityRegistry.sol";
import {PermissionedToken} from "../../src/PermissionedToken.sol";
import {Test} from "../utils/Test.sol";

/// @title PermissionedTokenHandler
/// @notice Drives a permissioned token and its registry through random steps (transfers, mints, consented burns,
/// forced transfers, token and identity freezes, KYC lapse and renewal, revocation, pause) and compares every
/// outcome with an independent model of the rules: a step the model allows must succeed, a step it forbids must
/// revert. Disagreements are counted in ghost variables that the invariant suite requires to stay zero.
contract PermissionedTokenHandler is Test {
    PermissionedToken public immutable token;
    IdentityRegistry public immutable registry;
    address public immutable admin;

    address[] private _actors;

    /// @notice Steps that succeeded although the model forbids them (e.g. a frozen or unverified side).
    uint256 public ghostForbiddenSucceeded;
    /// @notice Steps that reverted although the model allows them.
    uint256 public ghostAllowedReverted;
    /// @notice Times a token-frozen account's balance fell by any means other than a forced transfer.
    uint256 public ghostFrozenBalanceFell;
    /// @notice Number of successful steps that moved or created tokens (to see the run did something).
    uint256 public ghostMoves;

    constructor(PermissionedToken token_, IdentityRegistry registry_, address admin_, address[] memory actors_) {
        token = token_;
        registry = registry_;
        admin = admin_;
        _actors = actors_;
    }

    function actors() external view returns (address[] memory) {
        return _actors;
    }

    // ------------------------------------------------------------ model

    function _actor(uint256 seed) private view returns (address) {
        return _actors[seed % _actors.length];
    }

    /// @dev May `account` send or receive under the token's rules right now?
    function _eligible(address account) private view returns (bool) {
        return !token.isFrozen(account) && registry.isVerified(account);
    }

    function _identityFrozen(address account) private view returns (bool) {
        uint256 id = registry.identityOf(account);
        return id != 0 && registry.getIdentity(id).frozen;
    }

    function _record(bool allowed, bool succeeded) private {
        if (succeeded && !allowed) ++ghostForbiddenSucceeded;
        if (!succeeded && allowed) ++ghostAllowedReverted;
        if (succeeded) ++ghostMoves;
    }

    // ------------------------------------------------------------ token steps

    function transfer(uint256 fromSeed, uint256 toSeed, uint256 amount) external {
        address from = _actor(fromSeed);
        address to = _actor(toSeed);
        amount = bound(amount, 0, token.balanceOf(from));
        bool allowed = !token.paused() && _eligible(from) && _eligible(to);
        vm.prank(from);
        try token.transfer(to, amount) returns (bool ok) {
            _record(allowed, ok);
        } catch {
            _record(allowed, false);
        }
    }

    function transferFrom(uint256 spenderSeed, uint256 fromSeed, uint256 toSeed, uint256 amount) external {
        address spender = _actor(spenderSeed);
        address from = _actor(fromSeed);
        address to = _actor(toSeed);
        amount = bound(amount, 0, token.balanceOf(from));
        vm.prank(from);
        token.approve(spender, amount);
        bool allowed = !token.paused() && _eligible(from) && _eligible(to);
        vm.prank(spender);
        try token.transferFrom(from, to, amount) returns (bool ok) {
            _record(allowed, ok);
        } catch {
            _record(allowed, false);
        }
    }

    function mint(uint256 toSeed, uint256 amount) external {
        address to = _actor(toSeed);
        amount = bound(amount, 0, 1e30);
        bool allowed = !token.paused() && _eligible(to);
        vm.prank(admin);
        try token.mint(to, amount) {
            _record(allowed, true);
        } catch {
            _record(allowed, false);
        }
    }

    /// @dev The holder consents (approves the issuer), then the issuer burns.
    function burnFrom(uint256 fromSeed, uint256 amount) external {
        address from = _actor(fromSeed);
        amount = bound(amount, 0, token.balanceOf(from));
        vm.prank(from);
        token.approve(admin, amount);
        bool allowed = !token.paused() && _eligible(from);
        vm.prank(admin);
        try token.burnFrom(from, amount) {
            _record(allowed, true);
        } catch {
            _record(allowed, false);
        }
    }

    /// @dev Without consent the issuer can never burn: this must always revert.
    function burnFromWithoutConsent(uint256 fromSeed, uint256 amount) external {
        address from = _actor(fromSeed);
        amount = bound(amount, 1, type(uint128).max);
        vm.prank(from);
        token.approve(admin, 0);
        vm.prank(admin);
        try token.burnFrom(from, amount) {
            _record(false, true);
        } catch {
            _record(false, false);
        }
    }

    function forcedTransfer(uint256 fromSeed, uint256 toSeed, uint256 amount) external {
        address from = _actor(fromSeed);
        address to = _actor(toSeed);
        amount = bound(amount, 0, token.balanceOf(from));
        bool fromFrozen = token.isFrozen(from) || _identityFrozen(from);
        uint256 fromId = registry.identityOf(from);
        bool sameIdentity = fromId != 0 && registry.identityOf(to) == fromId;
        bool allowed =
            !token.paused() && _eligible(to) && !(fromFrozen && sameIdentity) && !registry.isSystemAccount(from);
        uint256 fromFrozenBefore = token.isFrozen(from) ? 1 : 0;
        vm.prank(admin);
        try token.forcedTransfer(from, to, amount, keccak256(abi.encode(fromSeed, toSeed, amount))) {
            _record(allowed, true);
        } catch {
            _record(allowed, false);
        }
        // A forced transfer never unfreezes anything.
        if (fromFrozenBefore == 1 && !token.isFrozen(from)) ++ghostForbiddenSucceeded;
    }

    // ------------------------------------------------------------ compliance and KYC steps

    function freeze(uint256 seed) external {
        address account = _actor(seed);
        if (token.isFrozen(account)) return;
        vm.prank(admin);
        token.freeze(account);
    }

    function unfreeze(uint256 seed) external {
        address account = _actor(seed);
        if (!token.isFrozen(account)) return;
        vm.prank(admin);
        token.unfreeze(account);
    }

    function freezeIdentity(uint256 seed) external {
        uint256 id = registry.identityOf(_actor(seed));
        if (id == 0 || registry.getIdentity(id).frozen || registry.getIdentity(id).revoked) return;
        vm.prank(admin);
        registry.freezeIdentity(id);
    }

    function unfreezeIdentity(uint256 seed) external {
        uint256 id = registry.identityOf(_actor(seed));
        if (id == 0 || !registry.getIdentity(id).frozen || registry.getIdentity(id).revoked) return;
        vm.prank(admin);
        registry.unfreezeIdentity(id);
    }

    /// @dev Revocation is final, so it is rare: only for a seed divisible by 16.
    function revokeIdentity(uint256 seed) external {
        if (seed % 16 != 0) return;
        uint256 id = registry.identityOf(_actor(seed / 16));
        if (id == 0 || registry.getIdentity(id).revoked) return;
        vm.prank(admin);
        registry.revokeIdentity(id);
    }

    function renewKyc(uint256 seed) external {
        uint256 id = registry.identityOf(_actor(seed));
        if (id == 0 || registry.getIdentity(id).revoked) return;
        IdentityRegistry.Identity memory identity = registry.getIdentity(id);
        vm.prank(admin);
        registry.updateIdentity(
            id,
            identity.jurisdiction,
            identity.investorClass,
            uint64(block.timestamp) + uint64(bound(seed, 1, 400 days))
        );
    }

    function warp(uint256 secondsForward) external {
        vm.warp(block.timestamp + bound(secondsForward, 0, 60 days));
    }

    /// @dev Pauses one step in eight-ish (by seed), unpauses otherwise, so most steps run unpaused.
    function togglePause(uint256 seed) external {
        bool paused = token.paused();
        if (!paused && seed % 4 != 0) return;
        vm.prank(admin);
        if (paused) token.unpause();
        else token.pause();
    }

    // ------------------------------------------------------------ frozen balances

    /// @dev Any non-forced step is allowed to try moving a frozen account's tokens; the balance must not fall.
    function drainFrozen(uint256 fromSeed, uint256 toSeed, uint256 amount) external {
        address from = _actor(fromSeed);
        if (!token.isFrozen(from)) return;
        address to = _actor(toSeed);
        amount = bound(amount, 1, type(uint128).max);
        uint256 before = token.balanceOf(from);
        vm.prank(from);
        try token.transfer(to, amount) {} catch {}
        vm.prank(from);
        token.approve(admin, amount);
        vm.prank(admin);
        try token.burnFrom(from, amount) {} catch {}
        if (token.balanceOf(from) < before) ++ghostFrozenBalanceFell;
    }
}
