// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {IAccessControl} from "@openzeppelin/contracts/access/IAccessControl.sol";
import {IAccessManager} from "@openzeppelin/contracts/access/manager/IAccessManager.sol";
import {AdminManager} from "../src/AdminManager.sol";
import {AdminMultisig} from "../src/AdminMultisig.sol";
import {IdentityRegistry} from "../src/IdentityRegistry.sol";
import {PriceOracle} from "../src/PriceOracle.sol";
import {RepoEngine} from "../src/RepoEngine.sol";
import {IAdminMultisig} from "../src/interfaces/IAdminMultisig.sol";
import {IIdentityRegistry} from "../src/interfaces/IIdentityRegistry.sol";
import {IPriceOracle} from "../src/interfaces/IPriceOracle.sol";
import {IRepoMigration} from "../src/interfaces/IRepoMigration.sol";
import {Test} from "./utils/Test.sol";

/// @notice The admin path as `reponet up` wires it: the manager holds every contract's DEFAULT_ADMIN_ROLE, the
/// 2-of-3 multisig holds the manager's ADMIN_ROLE with a delay; nobody else is admin. An admin action (grant a role)
/// needs two approvals to schedule, the delay, and two approvals to execute; the guardian pauses at once.
contract AdminManagerGovernanceTest is Test {
    uint32 internal constant DELAY = 2 days;
    uint64 internal constant ADMIN_ROLE = 0;

    AdminManager internal manager;
    AdminMultisig internal multisig;
    IdentityRegistry internal registry;
    RepoEngine internal engine;
    address internal alice = makeAddr("alice");
    address internal bob = makeAddr("bob");
    address internal carol = makeAddr("carol");
    address internal kycAgent = makeAddr("kycAgent");
    address internal guardian = makeAddr("guardian");

    function setUp() public {
        vm.warp(1_767_225_600);
        address[] memory owners = new address[](3);
        (owners[0], owners[1], owners[2]) = (alice, bob, carol);
        manager = new AdminManager(address(this));
        multisig = new AdminMultisig(owners, 2, address(manager));
        manager.grantRole(ADMIN_ROLE, address(multisig), DELAY);

        registry = new IdentityRegistry(address(this));
        PriceOracle oracle = new PriceOracle(address(this), 1 days);
        engine = new RepoEngine(IIdentityRegistry(address(registry)), IPriceOracle(address(oracle)), address(this));
        engine.grantRole(engine.PAUSER_ROLE(), guardian);
        _handOver(IAccessControl(address(registry)));
        _handOver(IAccessControl(address(engine)));
        registry.renounceRole(registry.KYC_AGENT_ROLE(), address(this));
        registry.renounceRole(registry.COMPLIANCE_ROLE(), address(this));
        engine.renounceRole(engine.PAUSER_ROLE(), address(this));
        engine.renounceRole(engine.COURT_ORDER_ROLE(), address(this));
        manager.renounceRole(ADMIN_ROLE, address(this));
    }

    function _handOver(IAccessControl target) internal {
        target.grantRole(0x00, address(manager));
        target.renounceRole(0x00, address(this));
    }

    function _grantKyc() internal view returns (bytes memory) {
        return abi.encodeCall(registry.grantRole, (registry.KYC_AGENT_ROLE(), kycAgent));
    }

    /// @dev One multisig proposal through to execution with the given approvers (the first proposes).
    function _multisig(bytes memory call, address[] memory approvers) internal {
        vm.prank(approvers[0]);
        uint256 id = multisig.propose(address(manager), call);
        for (uint256 i = 1; i < approvers.length; ++i) {
            vm.prank(approvers[i]);
            multisig.approve(id);
        }
        vm.prank(approvers[0]);
        multisig.execute(id);
    }

    function _two() internal view returns (address[] memory pair) {
        pair = new address[](2);
        (pair[0], pair[1]) = (alice, bob);
    }

    function _schedule() internal {
        _multisig(abi.encodeCall(manager.schedule, (address(registry), _grantKyc(), 0)), _two());
    }

    function test_setup_nobodyButTheManagerIsAdmin() public view {
        assertTrue(registry.hasRole(0x00, address(manager)));
        assertFalse(registry.hasRole(0x00, address(this)));
        assertFalse(engine.hasRole(0x00, address(this)));
        (bool isAdmin, uint32 delay) = manager.hasRole(ADMIN_ROLE, address(multisig));
        assertTrue(isAdmin);
        assertEq(delay, DELAY);
        (bool deployerAdmin,) = manager.hasRole(ADMIN_ROLE, address(this));
        assertFalse(deployerAdmin);
    }

    function test_grantRole_succeedsWithTwoApprovalsAndTheDelay() public {
        _schedule();
        vm.warp(block.timestamp + DELAY);
        _multisig(abi.encodeCall(manager.execute, (address(registry), _grantKyc())), _two());
        assertTrue(registry.hasRole(registry.KYC_AGENT_ROLE(), kycAgent));
    }

    function test_grantRole_revertsWithoutSchedule() public {
        bytes32 operation = manager.hashOperation(address(multisig), address(registry), _grantKyc());
        bytes memory call = abi.encodeCall(manager.execute, (address(registry), _grantKyc()));
        vm.prank(alice);
        uint256 id = multisig.propose(address(manager), call);
        vm.prank(bob);
        multisig.approve(id);
        vm.prank(alice);
        vm.expectRevert(abi.encodeWithSelector(IAccessManager.AccessManagerNotScheduled.selector, operation));
        multisig.execute(id);
        assertFalse(registry.hasRole(registry.KYC_AGENT_ROLE(), kycAgent));
    }

    function test_grantRole_revertsBeforeTheDelay() public {
        _schedule();
        vm.warp(block.timestamp + DELAY - 1);
        bytes32 operation = manager.hashOperation(address(multisig), address(registry), _grantKyc());
        bytes memory call = abi.encodeCall(manager.execute, (address(registry), _grantKyc()));
        vm.prank(alice);
        uint256 id = multisig.propose(address(manager), call);
        vm.prank(bob);
        multisig.approve(id);
        vm.prank(alice);
        vm.expectRevert(abi.encodeWithSelector(IAccessManager.AccessManagerNotReady.selector, operation));
        multisig.execute(id);
    }

    function test_schedule_revertsWithOneApproval() public {
        bytes memory call = abi.encodeCall(manager.schedule, (address(registry), _grantKyc(), 0));
        vm.prank(alice);
        uint256 id = multisig.propose(address(manager), call);
        vm.prank(alice);
        vm.expectRevert(abi.encodeWithSelector(IAdminMultisig.MultisigNotEnoughApprovals.selector, id, 1, 2));
        multisig.execute(id);
    }

    function test_execute_revertsWithOneApprovalAfterTheDelay() public {
        _schedule();
        vm.warp(block.timestamp + DELAY);
        bytes memory call = abi.encodeCall(manager.execute, (address(registry), _grantKyc()));
        vm.prank(alice);
        uint256 id = multisig.propose(address(manager), call);
        vm.prank(alice);
        vm.expectRevert(abi.encodeWithSelector(IAdminMultisig.MultisigNotEnoughApprovals.selector, id, 1, 2));
        multisig.execute(id);
    }

    function test_grantRole_revertsForAnOwnerAlone() public {
        bytes32 kyc = registry.KYC_AGENT_ROLE();
        vm.prank(alice);
        vm.expectRevert(
            abi.encodeWithSelector(IAccessControl.AccessControlUnauthorizedAccount.selector, alice, bytes32(0))
        );
        registry.grantRole(kyc, kycAgent);
        bytes memory grant = _grantKyc();
        vm.prank(alice);
        vm.expectRevert(
            abi.encodeWithSelector(
                IAccessManager.AccessManagerUnauthorizedCall.selector,
                alice,
                address(registry),
                registry.grantRole.selector
            )
        );
        manager.schedule(address(registry), grant, 0);
    }

    function test_managerAdmin_changesAlsoWaitForTheDelay() public {
        // granting the manager's admin role to a new account is itself an admin action with the delay
        bytes memory grant = abi.encodeCall(manager.grantRole, (ADMIN_ROLE, carol, 0));
        vm.prank(alice);
        uint256 id = multisig.propose(address(manager), grant);
        vm.prank(bob);
        multisig.approve(id);
        vm.prank(alice);
        vm.expectRevert(); // AccessManagerNotScheduled for the self-call
        multisig.execute(id);
        _multisig(abi.encodeCall(manager.schedule, (address(manager), grant, 0)), _two());
        vm.warp(block.timestamp + DELAY);
        _multisig(grant, _two());
        (bool isAdmin,) = manager.hasRole(ADMIN_ROLE, carol);
        assertTrue(isAdmin);
    }

    function test_rotateOwner_waitsForTheDelay() public {
        address dave = makeAddr("dave");
        bytes memory add = abi.encodeCall(multisig.addOwner, (dave));
        bytes memory remove = abi.encodeCall(multisig.removeOwner, (carol));
        _multisig(abi.encodeCall(manager.schedule, (address(multisig), add, 0)), _two());
        _multisig(abi.encodeCall(manager.schedule, (address(multisig), remove, 0)), _two());
        vm.warp(block.timestamp + DELAY);
        _multisig(abi.encodeCall(manager.execute, (address(multisig), add)), _two());
        _multisig(abi.encodeCall(manager.execute, (address(multisig), remove)), _two());
        assertTrue(multisig.isOwner(dave));
        assertFalse(multisig.isOwner(carol));
    }

    function test_rotateOwner_revertsBeforeTheDelay() public {
        bytes memory add = abi.encodeCall(multisig.addOwner, (makeAddr("dave")));
        _multisig(abi.encodeCall(manager.schedule, (address(multisig), add, 0)), _two());
        bytes memory call = abi.encodeCall(manager.execute, (address(multisig), add));
        vm.prank(alice);
        uint256 id = multisig.propose(address(manager), call);
        vm.prank(bob);
        multisig.approve(id);
        vm.prank(alice);
        vm.expectRevert();
        multisig.execute(id);
    }

    function test_cancel_byTwoOwnersStopsAScheduledGrant() public {
        _schedule();
        _multisig(abi.encodeCall(manager.cancel, (address(multisig), address(registry), _grantKyc())), _two());
        vm.warp(block.timestamp + DELAY);
        bytes memory call = abi.encodeCall(manager.execute, (address(registry), _grantKyc()));
        vm.prank(alice);
        uint256 id = multisig.propose(address(manager), call);
        vm.prank(bob);
        multisig.approve(id);
        vm.prank(alice);
        vm.expectRevert();
        multisig.execute(id);
    }

    function test_pause_byTheGuardianIsImmediate() public {
        vm.prank(guardian);
        engine.pause();
        assertTrue(engine.paused());
    }

    function test_pause_revertsForAnOwner() public {
        bytes32 pauser = engine.PAUSER_ROLE();
        vm.prank(alice);
        vm.expectRevert(abi.encodeWithSelector(IAccessControl.AccessControlUnauthorizedAccount.selector, alice, pauser));
        engine.pause();
    }

    // ------------------------------------------------------------------ naming a successor engine (UPGRADES.md)

    function _setSuccessor(address next) internal pure returns (bytes memory) {
        return abi.encodeCall(IRepoMigration.setSuccessor, (next));
    }

    function test_setSuccessor_waitsForTheDelay() public {
        address next = makeAddr("nextEngine");
        _multisig(abi.encodeCall(manager.schedule, (address(engine), _setSuccessor(next), 0)), _two());
        bytes32 operation = manager.hashOperation(address(multisig), address(engine), _setSuccessor(next));
        bytes memory call = abi.encodeCall(manager.execute, (address(engine), _setSuccessor(next)));

        vm.warp(block.timestamp + DELAY - 1);
        vm.prank(alice);
        uint256 early = multisig.propose(address(manager), call);
        vm.prank(bob);
        multisig.approve(early);
        vm.prank(alice);
        vm.expectRevert(abi.encodeWithSelector(IAccessManager.AccessManagerNotReady.selector, operation));
        multisig.execute(early);
        assertEq(IRepoMigration(address(engine)).successor(), address(0));

        vm.warp(block.timestamp + 1);
        _multisig(call, _two());
        assertEq(IRepoMigration(address(engine)).successor(), next);
    }

    function test_setSuccessor_revertsForAnOwnerOrTheGuardianAlone() public {
        address[2] memory callers = [alice, guardian];
        for (uint256 i; i < callers.length; ++i) {
            vm.prank(callers[i]);
            vm.expectRevert(
                abi.encodeWithSelector(IAccessControl.AccessControlUnauthorizedAccount.selector, callers[i], bytes32(0))
            );
            IRepoMigration(address(engine)).setSuccessor(callers[i]);
        }
        assertEq(IRepoMigration(address(engine)).successor(), address(0));
    }
}
