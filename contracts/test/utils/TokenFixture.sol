// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {PermissionedToken} from "../../src/PermissionedToken.sol";
import {BaseFixture} from "./BaseFixture.sol";

/// @title TokenFixture
/// @notice BaseFixture plus one permissioned token under test (chosen by `_token()`), with a separate account per
/// role and two funded, verified holders of different identities.
abstract contract TokenFixture is BaseFixture {
    uint256 internal constant INITIAL_BALANCE = 1_000_000;

    PermissionedToken internal token;

    address internal alice = makeAddr("alice");
    address internal aliceAlt = makeAddr("aliceAlt");
    address internal bob = makeAddr("bob");
    address internal carol = makeAddr("carol"); // never verified
    address internal stranger = makeAddr("stranger");
    address internal pauser = makeAddr("pauser");
    address internal officer = makeAddr("officer");
    address internal court = makeAddr("court");
    address internal issuer = makeAddr("issuer");
    address internal escrow = makeAddr("escrow");

    uint256 internal aliceId;
    uint256 internal bobId;
    uint256 internal issuerId;

    /// @dev The token the inheriting suite tests.
    function _token() internal view virtual returns (PermissionedToken);

    function setUp() public virtual override {
        super.setUp();
        token = _token();

        address[] memory aliceWallets = new address[](2);
        aliceWallets[0] = alice;
        aliceWallets[1] = aliceAlt;
        aliceId = _verify(aliceWallets);
        bobId = _verify(bob);
        issuerId = _verify(issuer);
        _addSystemAccount(escrow);

        bytes32 pauserRole = token.PAUSER_ROLE();
        bytes32 complianceRole = token.COMPLIANCE_ROLE();
        bytes32 courtRole = token.COURT_ORDER_ROLE();
        bytes32 issuerRole = token.ISSUER_ROLE();
        vm.startPrank(admin);
        token.grantRole(pauserRole, pauser);
        token.grantRole(complianceRole, officer);
        token.grantRole(courtRole, court);
        token.grantRole(issuerRole, issuer);
        vm.stopPrank();

        vm.startPrank(issuer);
        token.mint(alice, INITIAL_BALANCE);
        token.mint(bob, INITIAL_BALANCE);
        vm.stopPrank();
    }

    /// @dev `from` transfers to `to` (usable after `vm.expectRevert`, whose caught call returns no value).
    function _transfer(address from, address to, uint256 amount) internal returns (bool) {
        vm.prank(from);
        return token.transfer(to, amount);
    }

    /// @dev `spender` moves `from`'s tokens to `to` under an allowance.
    function _transferFrom(address spender, address from, address to, uint256 amount) internal returns (bool) {
        vm.prank(spender);
        return token.transferFrom(from, to, amount);
    }

    function _freeze(address account) internal {
        vm.prank(officer);
        token.freeze(account);
    }

    function _pause() internal {
        vm.prank(pauser);
        token.pause();
    }

    function _expireKyc(uint256 identityId) internal {
        // Lapse only this identity: renew everyone else's KYC, then move past this one's expiry.
        uint64 lapse = registry.getIdentity(identityId).kycExpiry;
        uint256 count = registry.identityCount();
        vm.startPrank(admin);
        for (uint256 id = 1; id <= count; ++id) {
            if (id == identityId || registry.getIdentity(id).revoked) continue;
            registry.updateIdentity(id, JURISDICTION, INVESTOR_CLASS, lapse + 365 days);
        }
        vm.stopPrank();
        vm.warp(lapse);
    }
}
