// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {IAccountRules} from "./interfaces/IAccountRules.sol";
import {IIdentityRegistry} from "./interfaces/IIdentityRegistry.sol";

/// @title AccountRules
/// @notice Node account permissioning: a sender may transact if the identity registry verifies it or the admin
/// listed it as a system account here. See {IAccountRules}.
contract AccountRules is IAccountRules, AccessControl {
    IIdentityRegistry private immutable _registry;
    mapping(address account => bool enabled) private _systemAccounts;

    /// @notice Deploys the rules over `registry_` and grants `DEFAULT_ADMIN_ROLE` to `admin`.
    /// @param registry_ The identity registry consulted for verified senders.
    /// @param admin The initial admin.
    constructor(IIdentityRegistry registry_, address admin) {
        if (address(registry_) == address(0) || admin == address(0)) revert AccountRulesZeroAddress();
        _registry = registry_;
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
    }

    /// @inheritdoc IAccountRules
    function transactionAllowed(
        address sender,
        address, /* target */
        uint256, /* value */
        uint256, /* gasPrice */
        uint256, /* gasLimit */
        bytes calldata /* payload */
    )
        external
        view
        returns (bool)
    {
        return _systemAccounts[sender] || _registry.isVerified(sender);
    }

    /// @inheritdoc IAccountRules
    function setSystemAccount(address account, bool enabled) external onlyRole(DEFAULT_ADMIN_ROLE) {
        if (account == address(0)) revert AccountRulesZeroAddress();
        _systemAccounts[account] = enabled;
        emit SystemAccountSet(account, enabled);
    }

    /// @inheritdoc IAccountRules
    function isSystemAccount(address account) external view returns (bool) {
        return _systemAccounts[account];
    }

    /// @inheritdoc IAccountRules
    function registry() external view returns (IIdentityRegistry) {
        return _registry;
    }
}
