// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {IERC20Metadata} from "@openzeppelin/contracts/token/ERC20/extensions/IERC20Metadata.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";
import {Pausable} from "@openzeppelin/contracts/utils/Pausable.sol";
import {IIdentityRegistry} from "./interfaces/IIdentityRegistry.sol";
import {IPermissionedToken} from "./interfaces/IPermissionedToken.sol";

/// @title PermissionedToken
/// @notice Base of RepoNet's cash and bond tokens: an ERC-20 only verified, unfrozen wallets can hold.
/// Every balance change (transfer, mint, burn) goes through `_update`, which checks the pause flag and both
/// nonzero sides against the identity registry and this token's freeze list, so no path can break the rule.
/// The one exception is `forcedTransfer`, which skips the checks on `from` (a court may seize from a frozen or
/// lapsed holder) but keeps them on `to` and cannot hand the tokens back to the frozen holder's own identity.
abstract contract PermissionedToken is IPermissionedToken, ERC20, AccessControl, Pausable {
    /// @notice Pauses and unpauses the token.
    bytes32 public constant PAUSER_ROLE = keccak256("PAUSER_ROLE");
    /// @notice Freezes and unfreezes accounts on this token.
    bytes32 public constant COMPLIANCE_ROLE = keccak256("COMPLIANCE_ROLE");
    /// @notice Executes court-ordered forced transfers.
    bytes32 public constant COURT_ORDER_ROLE = keccak256("COURT_ORDER_ROLE");
    /// @notice Mints, and burns with the holder's consent.
    bytes32 public constant ISSUER_ROLE = keccak256("ISSUER_ROLE");

    IIdentityRegistry private immutable _registry;
    uint8 private immutable _decimals;
    /// @dev Declared first so that they share the slot of Pausable's flag, which every transfer reads: a caller that
    /// reads them and then moves the token pays one cold read, not two. Used by {BondToken} for its coupon schedule's
    /// length and last record date (the engine asks about coupons before moving collateral); 0 in a cash token.
    uint16 internal _couponCount;
    uint64 internal _lastRecordDate;

    /// @dev A holder's balance and freeze flag in one slot (OpenZeppelin's ERC20 balances and supply are left unused):
    /// a transfer reads each side's word once for both the freeze check and the balance update, instead of a flag
    /// and a balance in two cold slots (~4.2k per transfer). Balances fit 248 bits because the supply does.
    struct Account {
        uint248 balance;
        bool frozen;
    }

    mapping(address account => Account) private _accounts;
    uint256 private _supply;
    /// @dev Every pause so far, oldest first; `end` 0 while the pause lasts. Kept so that deadlines that depend on
    /// this token (a repo's grace and cure periods) can leave paused time out.
    PauseWindow[] private _pauses;

    /// @param name_ ERC-20 name.
    /// @param symbol_ ERC-20 symbol.
    /// @param decimals_ ERC-20 decimals.
    /// @param registry_ The identity registry every holder is checked against.
    /// @param admin Receives every role.
    constructor(string memory name_, string memory symbol_, uint8 decimals_, IIdentityRegistry registry_, address admin)
        ERC20(name_, symbol_)
    {
        if (address(registry_) == address(0) || admin == address(0)) revert TokenZeroAddress();
        _registry = registry_;
        _decimals = decimals_;
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
        _grantRole(PAUSER_ROLE, admin);
        _grantRole(COMPLIANCE_ROLE, admin);
        _grantRole(COURT_ORDER_ROLE, admin);
        _grantRole(ISSUER_ROLE, admin);
    }

    /// @inheritdoc IPermissionedToken
    function freeze(address account) external onlyRole(COMPLIANCE_ROLE) {
        if (account == address(0)) revert TokenZeroAddress();
        if (_accounts[account].frozen) revert TokenAccountFrozen(account);
        _accounts[account].frozen = true;
        emit AccountFrozen(account);
    }

    /// @inheritdoc IPermissionedToken
    function unfreeze(address account) external onlyRole(COMPLIANCE_ROLE) {
        if (!_accounts[account].frozen) revert TokenAccountNotFrozen(account);
        _accounts[account].frozen = false;
        emit AccountUnfrozen(account);
    }

    /// @inheritdoc IPermissionedToken
    function forcedTransfer(address from, address to, uint256 amount, bytes32 orderRef)
        external
        onlyRole(COURT_ORDER_ROLE)
        whenNotPaused
    {
        if (orderRef == bytes32(0)) revert TokenMissingOrderRef();
        if (from == address(0) || to == address(0)) revert TokenZeroAddress();
        if (_registry.isSystemAccount(from)) revert TokenForcedTransferFromSystemAccount(from);
        _checkAccount(to);
        if (_accounts[from].frozen || _identityFrozen(from)) {
            uint256 fromIdentity = _registry.identityOf(from);
            if (fromIdentity != 0 && _registry.identityOf(to) == fromIdentity) {
                revert TokenForcedTransferToSameIdentity(from, to, fromIdentity);
            }
        }
        // Bypasses this contract's `_update` checks on purpose: `from` gives no consent and may be frozen or
        // unverified. `to` was checked above and the pause by the modifier.
        _move(from, to, amount);
        emit ForcedTransfer(from, to, amount, orderRef);
    }

    /// @inheritdoc IPermissionedToken
    function mint(address to, uint256 amount) external onlyRole(ISSUER_ROLE) {
        _mint(to, amount);
    }

    /// @inheritdoc IPermissionedToken
    function burn(uint256 amount) external onlyRole(ISSUER_ROLE) {
        _burn(msg.sender, amount);
    }

    /// @inheritdoc IPermissionedToken
    function burnFrom(address from, uint256 amount) external onlyRole(ISSUER_ROLE) {
        _spendAllowance(from, msg.sender, amount);
        _burn(from, amount);
    }

    /// @inheritdoc IPermissionedToken
    function pause() external onlyRole(PAUSER_ROLE) {
        _pause();
        _pauses.push(PauseWindow({start: uint64(block.timestamp), end: 0}));
    }

    /// @inheritdoc IPermissionedToken
    function unpause() external onlyRole(PAUSER_ROLE) {
        _unpause();
        _pauses[_pauses.length - 1].end = uint64(block.timestamp);
    }

    /// @inheritdoc IPermissionedToken
    function pausedSince(uint64 from) external view returns (bool pausedNow, uint256 pausedSeconds) {
        uint64 nowTs = uint64(block.timestamp);
        uint256 count = _pauses.length;
        // A window still open (end 0) is the current pause; the flag itself need not be read.
        pausedNow = count > 0 && _pauses[count - 1].end < 1;
        // Newest first: windows are disjoint and ordered, so the walk stops at the first one ending by `from`.
        for (uint256 i = count; i > 0; --i) {
            PauseWindow memory w = _pauses[i - 1];
            uint64 end = w.end > 0 ? w.end : nowTs;
            if (end <= from) break;
            uint64 start = w.start > from ? w.start : from;
            pausedSeconds += end - start;
        }
    }

    /// @inheritdoc IPermissionedToken
    function paused() public view override(IPermissionedToken, Pausable) returns (bool) {
        return super.paused();
    }

    /// @inheritdoc IPermissionedToken
    function registry() external view returns (IIdentityRegistry) {
        return _registry;
    }

    /// @inheritdoc IPermissionedToken
    function isFrozen(address account) external view returns (bool) {
        return _accounts[account].frozen;
    }

    /// @inheritdoc IERC20Metadata
    function decimals() public view virtual override(ERC20, IERC20Metadata) returns (uint8) {
        return _decimals;
    }

    /// @dev Every balance change passes here: not paused, and each nonzero side verified and not frozen.
    function _update(address from, address to, uint256 value) internal virtual override whenNotPaused {
        if (from != address(0)) _checkAccount(from);
        if (to != address(0)) _checkAccount(to);
        _move(from, to, value);
    }

    /// @notice The balance of `account`.
    function balanceOf(address account) public view virtual override(ERC20, IERC20) returns (uint256) {
        return _accounts[account].balance;
    }

    /// @notice The tokens in existence.
    function totalSupply() public view virtual override(ERC20, IERC20) returns (uint256) {
        return _supply;
    }

    /// @dev OpenZeppelin's ERC20 `_update` on the packed accounts, without any check: same errors and event.
    function _move(address from, address to, uint256 value) private {
        if (from == address(0)) {
            // The supply, and so every balance, fits 248 bits.
            _supply = SafeCast.toUint248(_supply + value);
        } else {
            Account storage account = _accounts[from];
            uint256 fromBalance = account.balance;
            if (fromBalance < value) revert ERC20InsufficientBalance(from, fromBalance, value);
            // Cannot underflow: value <= fromBalance; fits: smaller than the stored balance.
            unchecked {
                account.balance = uint248(fromBalance - value);
            }
        }
        if (to == address(0)) {
            // Cannot underflow: value <= a balance <= the supply.
            unchecked {
                _supply -= value;
            }
        } else {
            Account storage account = _accounts[to];
            // Cannot overflow: balance + value <= the supply < 2^248.
            unchecked {
                account.balance = uint248(account.balance + value);
            }
        }
        emit Transfer(from, to, value);
    }

    /// @dev Reverts unless `account` is unfrozen on this token and verified in the registry.
    function _checkAccount(address account) private view {
        if (_accounts[account].frozen) revert TokenAccountFrozen(account);
        if (!_registry.isVerified(account)) revert TokenAccountNotVerified(account);
    }

    /// @dev Whether `account` belongs to an identity that compliance froze in the registry.
    function _identityFrozen(address account) private view returns (bool) {
        uint256 identityId = _registry.identityOf(account);
        return identityId != 0 && _registry.getIdentity(identityId).frozen;
    }
}
