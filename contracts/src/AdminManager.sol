// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {AccessManager} from "@openzeppelin/contracts/access/manager/AccessManager.sol";

/// @title AdminManager
/// @notice RepoNet's admin authority: OpenZeppelin's AccessManager, unchanged. It holds `DEFAULT_ADMIN_ROLE` of every
/// system contract and token; its own `ADMIN_ROLE` belongs to the {AdminMultisig} with an execution delay, so a
/// role grant, revocation or admin setting is scheduled by two owners, waits the delay, and is executed by two.
/// The deployer is the initial admin only while `reponet up` wires the system, then renounces (see
/// contracts/CEREMONY.md).
contract AdminManager is AccessManager {
    constructor(address initialAdmin) AccessManager(initialAdmin) {}
}
