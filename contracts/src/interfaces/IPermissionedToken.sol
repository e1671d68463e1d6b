// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {IERC20Metadata} from "@openzeppelin/contracts/token/ERC20/extensions/IERC20Metadata.sol";
import {IIdentityRegistry} from "./IIdentityRegistry.sol";

/// @title IPermissionedToken
/// @notice An ERC-20 that only KYC-verified wallets may hold: every transfer, mint and burn checks that the
/// token is not paused and that each nonzero side (`from`, `to`) is `registry.isVerified` and not frozen on this
/// token. Nothing moves without its holder's consent except by a court order (`forcedTransfer`, its own role and
/// event); burning always needs the holder's consent (own balance or allowance).
/// @dev Roles: `DEFAULT_ADMIN_ROLE`; `PAUSER_ROLE` (pause, unpause); `COMPLIANCE_ROLE` (freeze, unfreeze);
/// `COURT_ORDER_ROLE` (forcedTransfer); `ISSUER_ROLE` (mint, burn, burnFrom).
interface IPermissionedToken is IERC20Metadata {
    /// @notice One pause of the token: from `start` to `end` (0 while it lasts).
    struct PauseWindow {
        uint64 start;
        uint64 end;
    }

    /// @notice Compliance froze `account` on this token.
    event AccountFrozen(address indexed account);
    /// @notice Compliance unfroze `account` on this token.
    event AccountUnfrozen(address indexed account);
    /// @notice Tokens were moved by court order, without the holder's consent.
    event ForcedTransfer(address indexed from, address indexed to, uint256 amount, bytes32 indexed orderRef);

    /// @notice `account` is not verified in the identity registry.
    error TokenAccountNotVerified(address account);
    /// @notice `account` is frozen on this token (or its identity is frozen, for forced transfers).
    error TokenAccountFrozen(address account);
    /// @notice `account` is not frozen on this token.
    error TokenAccountNotFrozen(address account);
    /// @notice A forced transfer from a frozen account would land with the same identity, undoing the freeze.
    error TokenForcedTransferToSameIdentity(address from, address to, uint256 identityId);
    /// @notice A forced transfer may not take from a system account (the repo engine's escrow): escrowed assets
    /// belong to live repos, whose own rules (repurchase, close-out) release them.
    error TokenForcedTransferFromSystemAccount(address from);
    /// @notice A forced transfer needs a nonzero court order reference.
    error TokenMissingOrderRef();
    /// @notice The zero address was given where an account is needed.
    error TokenZeroAddress();

    /// @notice Freezes `account` on this token: it can neither send nor receive.
    /// @param account The account to freeze.
    /// Requirements:
    /// - caller has `COMPLIANCE_ROLE`;
    /// - `account` is nonzero and not frozen.
    /// Emits `AccountFrozen`.
    function freeze(address account) external;

    /// @notice Unfreezes `account` on this token.
    /// @param account The account to unfreeze.
    /// Requirements:
    /// - caller has `COMPLIANCE_ROLE`;
    /// - `account` is frozen.
    /// Emits `AccountUnfrozen`.
    function unfreeze(address account) external;

    /// @notice Moves tokens by court order without the holder's consent. `from` need not be verified nor
    /// unfrozen (seizing from a frozen holder is the usual case), but the order cannot undo a freeze: when `from`
    /// is frozen (on this token or its identity in the registry), `to` must not belong to the same identity.
    /// It never unfreezes anything.
    /// @param from The holder the tokens are taken from.
    /// @param to The recipient.
    /// @param amount The amount in smallest units.
    /// @param orderRef Reference of the court order (e.g. a hash of the order document).
    /// Requirements:
    /// - caller has `COURT_ORDER_ROLE`; the token is not paused;
    /// - `orderRef` is nonzero; `from` and `to` are nonzero;
    /// - `to` is verified and not frozen on this token;
    /// - `from` is not a registry system account (escrow);
    /// - if `from` is frozen, `registry.identityOf(to)` differs from `registry.identityOf(from)`;
    /// - `from` holds at least `amount`.
    /// Emits `Transfer` and `ForcedTransfer`.
    function forcedTransfer(address from, address to, uint256 amount, bytes32 orderRef) external;

    /// @notice Issues new tokens to `to` (against money or securities received off chain).
    /// @param to The recipient.
    /// @param amount The amount in smallest units.
    /// Requirements:
    /// - caller has `ISSUER_ROLE`; the token is not paused;
    /// - `to` is verified and not frozen.
    /// Emits `Transfer` from the zero address.
    function mint(address to, uint256 amount) external;

    /// @notice Burns tokens from the caller's own balance.
    /// @param amount The amount in smallest units.
    /// Requirements:
    /// - caller has `ISSUER_ROLE`, is verified and not frozen; the token is not paused;
    /// - caller holds at least `amount`.
    /// Emits `Transfer` to the zero address.
    function burn(uint256 amount) external;

    /// @notice Burns tokens from `from` with its consent, given as an allowance to the caller.
    /// @param from The holder.
    /// @param amount The amount in smallest units.
    /// Requirements:
    /// - caller has `ISSUER_ROLE`; the token is not paused;
    /// - `from` is verified and not frozen, holds at least `amount` and allows the caller at least `amount`.
    /// Emits `Transfer` to the zero address (and `Approval` is not emitted for the spent allowance).
    function burnFrom(address from, uint256 amount) external;

    /// @notice Halts every transfer, mint, burn and forced transfer.
    /// Requirements:
    /// - caller has `PAUSER_ROLE`; the token is not paused.
    /// Emits `Paused`.
    function pause() external;

    /// @notice Resumes a paused token.
    /// Requirements:
    /// - caller has `PAUSER_ROLE`; the token is paused.
    /// Emits `Unpaused`.
    function unpause() external;

    /// @notice The identity registry this token consults.
    /// @return The registry.
    function registry() external view returns (IIdentityRegistry);

    /// @notice Whether `account` is frozen on this token (identity freezes live in the registry).
    /// @param account The account.
    /// @return True if frozen on this token.
    function isFrozen(address account) external view returns (bool);

    /// @notice Whether the token is paused now.
    function paused() external view returns (bool);

    /// @notice Whether the token is paused now, and for how many seconds it was paused since `from` (a pause still
    /// running counts up to now). Lets the repo engine stop a party's deadline while the token it pays in is paused.
    /// @param from start of the interval (unix time)
    /// @return pausedNow whether the token is paused now
    /// @return pausedSeconds paused seconds between `from` and now
    function pausedSince(uint64 from) external view returns (bool pausedNow, uint256 pausedSeconds);
}
