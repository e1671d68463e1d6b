// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {AdminMultisig} from "../src/AdminMultisig.sol";
import {AuditAnchor} from "../src/AuditAnchor.sol";
import {IAdminMultisig} from "../src/interfaces/IAdminMultisig.sol";
import {Test} from "./utils/Test.sol";

/// @notice AdminMultisig on its own: owners, threshold of at least two, approvals counted over current owners.
contract AdminMultisigTest is Test {
    AdminMultisig internal multisig;
    AuditAnchor internal target;
    address internal alice = makeAddr("alice");
    address internal bob = makeAddr("bob");
    address internal carol = makeAddr("carol");
    address internal mallory = makeAddr("mallory");
    address internal anchorer = makeAddr("anchorer");
    address internal manager = makeAddr("manager"); // stands for the AdminManager after its delay

    function setUp() public {
        address[] memory owners = new address[](3);
        (owners[0], owners[1], owners[2]) = (alice, bob, carol);
        multisig = new AdminMultisig(owners, 2, manager);
        target = new AuditAnchor(address(multisig));
    }

    function _grantAnchor() internal view returns (bytes memory) {
        return abi.encodeCall(target.grantRole, (target.ANCHOR_ROLE(), anchorer));
    }

    function _propose(address owner, address to, bytes memory data) internal returns (uint256 id) {
        vm.prank(owner);
        id = multisig.propose(to, data);
    }

    function test_constructor_revertsIfThresholdBelowTwo() public {
        address[] memory owners = new address[](3);
        (owners[0], owners[1], owners[2]) = (alice, bob, carol);
        vm.expectRevert(abi.encodeWithSelector(IAdminMultisig.MultisigInvalidThreshold.selector, 1, 3));
        new AdminMultisig(owners, 1, manager);
    }

    function test_constructor_revertsIfThresholdAboveOwners() public {
        address[] memory owners = new address[](2);
        (owners[0], owners[1]) = (alice, bob);
        vm.expectRevert(abi.encodeWithSelector(IAdminMultisig.MultisigInvalidThreshold.selector, 3, 2));
        new AdminMultisig(owners, 3, manager);
    }

    function test_constructor_revertsOnDuplicateOwner() public {
        address[] memory owners = new address[](2);
        (owners[0], owners[1]) = (alice, alice);
        vm.expectRevert(abi.encodeWithSelector(IAdminMultisig.MultisigInvalidOwner.selector, alice));
        new AdminMultisig(owners, 2, manager);
    }

    function test_propose_revertsIfNotOwner() public {
        bytes memory data = _grantAnchor();
        vm.prank(mallory);
        vm.expectRevert(abi.encodeWithSelector(IAdminMultisig.MultisigNotOwner.selector, mallory));
        multisig.propose(address(target), data);
    }

    function test_execute_revertsWithOneApproval() public {
        uint256 id = _propose(alice, address(target), _grantAnchor());
        vm.prank(alice);
        vm.expectRevert(abi.encodeWithSelector(IAdminMultisig.MultisigNotEnoughApprovals.selector, id, 1, 2));
        multisig.execute(id);
        assertFalse(target.hasRole(target.ANCHOR_ROLE(), anchorer));
    }

    function test_execute_succeedsWithTwoApprovals() public {
        uint256 id = _propose(alice, address(target), _grantAnchor());
        vm.prank(bob);
        multisig.approve(id);
        vm.prank(carol);
        multisig.execute(id);
        assertTrue(target.hasRole(target.ANCHOR_ROLE(), anchorer));
        (,, bool executed, uint256 approvals) = multisig.proposal(id);
        assertTrue(executed);
        assertEq(approvals, 2);
    }

    function test_execute_revertsTwice() public {
        uint256 id = _propose(alice, address(target), _grantAnchor());
        vm.prank(bob);
        multisig.approve(id);
        vm.prank(bob);
        multisig.execute(id);
        vm.prank(bob);
        vm.expectRevert(abi.encodeWithSelector(IAdminMultisig.MultisigAlreadyExecuted.selector, id));
        multisig.execute(id);
    }

    function test_approve_revertsTwiceBySameOwner() public {
        uint256 id = _propose(alice, address(target), _grantAnchor());
        vm.prank(alice);
        vm.expectRevert(abi.encodeWithSelector(IAdminMultisig.MultisigAlreadyApproved.selector, id, alice));
        multisig.approve(id);
    }

    function test_revokeApproval_dropsBelowThreshold() public {
        uint256 id = _propose(alice, address(target), _grantAnchor());
        vm.prank(bob);
        multisig.approve(id);
        vm.prank(bob);
        multisig.revokeApproval(id);
        vm.prank(alice);
        vm.expectRevert(abi.encodeWithSelector(IAdminMultisig.MultisigNotEnoughApprovals.selector, id, 1, 2));
        multisig.execute(id);
    }

    function test_execute_bubblesTheTargetRevert() public {
        bytes memory data = abi.encodeCall(target.anchor, (1, bytes32(0)));
        uint256 id = _propose(alice, address(target), data);
        vm.prank(bob);
        multisig.approve(id);
        vm.prank(bob);
        vm.expectRevert(); // the multisig has no ANCHOR_ROLE: the call's own error, and the proposal stays open
        multisig.execute(id);
        (,, bool executed,) = multisig.proposal(id);
        assertFalse(executed);
    }

    function test_addOwner_revertsUnlessManager() public {
        vm.prank(alice);
        vm.expectRevert(abi.encodeWithSelector(IAdminMultisig.MultisigNotManager.selector, alice));
        multisig.addOwner(mallory);
    }

    function test_addOwner_revertsForTheMultisigItself() public {
        // two owners alone cannot change the owner set: that goes through the manager and its delay
        bytes memory call = abi.encodeCall(multisig.addOwner, (mallory));
        uint256 id = _propose(alice, address(multisig), call);
        vm.prank(bob);
        multisig.approve(id);
        vm.prank(bob);
        vm.expectRevert(abi.encodeWithSelector(IAdminMultisig.MultisigNotManager.selector, address(multisig)));
        multisig.execute(id);
        assertFalse(multisig.isOwner(mallory));
    }

    function test_removeOwner_dropsItsApproval() public {
        uint256 pending = _propose(carol, address(target), _grantAnchor());
        vm.prank(manager);
        multisig.removeOwner(carol);
        assertFalse(multisig.isOwner(carol));
        assertEq(multisig.owners().length, 2);
        (,,, uint256 approvals) = multisig.proposal(pending);
        assertEq(approvals, 0);
    }

    function test_removeOwner_revertsBelowThreshold() public {
        vm.startPrank(manager);
        multisig.removeOwner(carol);
        vm.expectRevert(abi.encodeWithSelector(IAdminMultisig.MultisigInvalidThreshold.selector, 2, 1));
        multisig.removeOwner(bob);
        vm.stopPrank();
    }

    function test_setThreshold_revertsBelowTwo() public {
        vm.prank(manager);
        vm.expectRevert(abi.encodeWithSelector(IAdminMultisig.MultisigInvalidThreshold.selector, 1, 3));
        multisig.setThreshold(1);
    }

    function test_constructor_revertsIfManagerZero() public {
        address[] memory owners = new address[](2);
        (owners[0], owners[1]) = (alice, bob);
        vm.expectRevert(abi.encodeWithSelector(IAdminMultisig.MultisigInvalidOwner.selector, address(0)));
        new AdminMultisig(owners, 2, address(0));
    }
}
