// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {IIdentityRegistry} from "./IIdentityRegistry.sol";

/// @title IAccountRules
/// @notice Node account permissioning in the shape Hyperledger Besu's account rules contract uses: the node
/// asks `transactionAllowed` before admitting a transaction. A sender is allowed if the identity registry says it
/// is verified, or if it is on this contract's own list of system accounts (e.g. operator or relayer keys).
/// @dev Roles: `DEFAULT_ADMIN_ROLE` manages the system account list.
interface IAccountRules {
    /// @notice An account was added to or removed from this contract's system accounts.
    event SystemAccountSet(address indexed account, bool enabled);

    /// @notice The zero address was given where an account is needed.
    error AccountRulesZeroAddress();

    /// @notice Whether the node should admit a transaction (Besu account permissioning interface).
    /// @param sender The transaction's sender.
    /// @param target The transaction's recipient (zero for contract creation).
    /// @param value The value sent.
    /// @param gasPrice The gas price.
    /// @param gasLimit The gas limit.
    /// @param payload The call data or init code.
    /// @return True if `sender` is verified in the registry or is a system account here.
    function transactionAllowed(
        address sender,
        address target,
        uint256 value,
        uint256 gasPrice,
        uint256 gasLimit,
        bytes calldata payload
    ) external view returns (bool);

    /// @notice Adds or removes a system account that may always transact.
    /// @param account The account.
    /// @param enabled True to add, false to remove.
    /// Requirements:
    /// - caller has `DEFAULT_ADMIN_ROLE`;
    /// - `account` is nonzero.
    /// Emits `SystemAccountSet`.
    function setSystemAccount(address account, bool enabled) external;

    /// @notice Whether `account` is on this contract's system account list.
    /// @param account The account.
    /// @return True if it is a system account here.
    function isSystemAccount(address account) external view returns (bool);

    /// @notice The identity registry consulted for verified senders.
    /// @return The registry.
    function registry() external view returns (IIdentityRegistry);
}
