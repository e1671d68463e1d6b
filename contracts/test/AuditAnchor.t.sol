// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {IAccessControl} from "@openzeppelin/contracts/access/IAccessControl.sol";
import {AuditAnchor} from "../src/AuditAnchor.sol";
import {IAuditAnchor} from "../src/interfaces/IAuditAnchor.sol";
import {Test} from "./utils/Test.sol";

/// @notice AuditAnchor: role, strictly increasing sequences, lookups.
contract AuditAnchorTest is Test {
    uint64 internal constant T0 = 1_767_225_600;

    AuditAnchor internal auditAnchor;
    address internal admin = makeAddr("admin");
    address internal anchorer = makeAddr("anchorer");
    address internal stranger = makeAddr("stranger");

    function setUp() public {
        vm.warp(T0);
        auditAnchor = new AuditAnchor(admin);
        bytes32 role = auditAnchor.ANCHOR_ROLE();
        vm.prank(admin);
        auditAnchor.grantRole(role, anchorer);
    }

    function _anchor(uint256 sequence, bytes32 headHash) internal {
        vm.prank(anchorer);
        auditAnchor.anchor(sequence, headHash);
    }

    function test_constructor_grantsRolesToAdmin() public view {
        assertTrue(auditAnchor.hasRole(auditAnchor.DEFAULT_ADMIN_ROLE(), admin));
        assertTrue(auditAnchor.hasRole(auditAnchor.ANCHOR_ROLE(), admin));
        assertEq(auditAnchor.anchorCount(), 0);
    }

    function test_constructor_revertsIfAdminZero() public {
        vm.expectRevert(IAuditAnchor.AnchorZeroAddress.selector);
        new AuditAnchor(address(0));
    }

    function test_anchor_storesAndEmits() public {
        vm.expectEmit(address(auditAnchor));
        emit IAuditAnchor.AuditAnchored(10, keccak256("h10"), T0);
        _anchor(10, keccak256("h10"));

        assertEq(auditAnchor.anchorCount(), 1);
        IAuditAnchor.Anchor memory a = auditAnchor.anchorAt(0);
        assertEq(a.sequence, 10);
        assertEq(a.headHash, keccak256("h10"));
        assertEq(uint256(a.timestamp), uint256(T0));
        assertEq(a.anchoredBy, anchorer);
        assertEq(auditAnchor.headAt(10), keccak256("h10"));
    }

    function test_anchor_firstMayBeSequenceZero() public {
        _anchor(0, keccak256("genesis"));
        assertEq(auditAnchor.headAt(0), keccak256("genesis"));
        assertEq(auditAnchor.latest().sequence, 0);
    }

    function test_anchor_appendsInOrder() public {
        _anchor(1, keccak256("h1"));
        vm.warp(T0 + 60);
        _anchor(5, keccak256("h5"));
        vm.warp(T0 + 120);
        _anchor(6, keccak256("h6"));

        assertEq(auditAnchor.anchorCount(), 3);
        assertEq(auditAnchor.anchorAt(1).sequence, 5);
        assertEq(uint256(auditAnchor.anchorAt(1).timestamp), uint256(T0 + 60));
        IAuditAnchor.Anchor memory last = auditAnchor.latest();
        assertEq(last.sequence, 6);
        assertEq(last.headHash, keccak256("h6"));
        assertEq(auditAnchor.headAt(5), keccak256("h5"));
        assertEq(auditAnchor.headAt(3), bytes32(0));
    }

    function test_anchor_revertsIfNotAnchorer() public {
        bytes32 role = auditAnchor.ANCHOR_ROLE();
        vm.expectRevert(
            abi.encodeWithSelector(IAccessControl.AccessControlUnauthorizedAccount.selector, stranger, role)
        );
        vm.prank(stranger);
        auditAnchor.anchor(1, keccak256("h1"));
    }

    function test_anchor_revertsIfSequenceRepeats() public {
        _anchor(7, keccak256("h7"));
        vm.expectRevert(abi.encodeWithSelector(IAuditAnchor.AnchorSequenceNotIncreasing.selector, 7, 7));
        _anchor(7, keccak256("other"));
        assertEq(auditAnchor.headAt(7), keccak256("h7"));
    }

    function test_anchor_revertsIfSequenceDecreases() public {
        _anchor(7, keccak256("h7"));
        vm.expectRevert(abi.encodeWithSelector(IAuditAnchor.AnchorSequenceNotIncreasing.selector, 3, 7));
        _anchor(3, keccak256("h3"));
    }

    function test_anchor_revertsAfterZeroIfZeroAgain() public {
        _anchor(0, keccak256("h0"));
        vm.expectRevert(abi.encodeWithSelector(IAuditAnchor.AnchorSequenceNotIncreasing.selector, 0, 0));
        _anchor(0, keccak256("h0'"));
    }

    function test_anchor_revertsIfHashZero() public {
        vm.expectRevert(IAuditAnchor.AnchorZeroHash.selector);
        _anchor(1, bytes32(0));
    }

    function test_anchorAt_revertsIfOutOfRange() public {
        vm.expectRevert(abi.encodeWithSelector(IAuditAnchor.AnchorIndexOutOfRange.selector, 0, 0));
        auditAnchor.anchorAt(0);
        _anchor(1, keccak256("h1"));
        vm.expectRevert(abi.encodeWithSelector(IAuditAnchor.AnchorIndexOutOfRange.selector, 1, 1));
        auditAnchor.anchorAt(1);
    }

    function test_latest_revertsIfNone() public {
        vm.expectRevert(IAuditAnchor.AnchorNone.selector);
        auditAnchor.latest();
    }

    function test_headAt_zeroIfNotAnchored() public view {
        assertEq(auditAnchor.headAt(1), bytes32(0));
    }

    function testFuzz_anchor_sequenceMonotonic(uint256 first, uint256 second) public {
        first = bound(first, 0, type(uint256).max - 1);
        _anchor(first, keccak256("a"));
        if (second <= first) {
            vm.expectRevert(abi.encodeWithSelector(IAuditAnchor.AnchorSequenceNotIncreasing.selector, second, first));
        }
        _anchor(second, keccak256("b"));
        assertEq(auditAnchor.latest().sequence, second > first ? second : first);
    }
}
