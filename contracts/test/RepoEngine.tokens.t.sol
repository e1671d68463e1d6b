// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {IAccessControl} from "@openzeppelin/contracts/access/IAccessControl.sol";
import {BondToken} from "../src/BondToken.sol";
import {CashToken} from "../src/CashToken.sol";
import {IRepoEngine} from "../src/interfaces/IRepoEngine.sol";
import {IRepoMigration} from "../src/interfaces/IRepoMigration.sol";
import {RepoTokens} from "../src/RepoTokens.sol";
import {RepoFixture} from "./utils/RepoFixture.sol";

/// @dev The engine's token table (RepoTokens): tokens stored as 16-bit indices, resolved back to addresses.
contract RepoEngineTokensTest is RepoFixture {
    function _mig() internal view returns (IRepoMigration) {
        return IRepoMigration(address(engine));
    }

    function test_setUp_listsCashAndBothBonds_andGetRepoAnswersAddresses() public {
        assertEq(_mig().tokenIndexOf(address(cash)), 1);
        assertEq(_mig().tokenIndexOf(address(bond)), 2);
        assertEq(_mig().tokenIndexOf(address(bond2)), 3);
        uint256 repoId = _openOpenRepo();
        IRepoEngine.Repo memory r = engine.getRepo(repoId);
        assertEq(r.cashToken, address(cash));
        assertEq(r.collateralToken, address(bond));
        // A second repo in the same pair reuses the indices; no open adds to the table.
        _openTermRepo();
        assertEq(_mig().tokenIndexOf(address(bond2)), 3);
    }

    function test_listToken_internsOnce() public {
        BondToken fresh = _memberBond(seller);
        vm.prank(admin);
        uint16 index = _mig().listToken(address(fresh));
        assertEq(index, 4);
        vm.prank(admin);
        assertEq(_mig().listToken(address(fresh)), 4);
        assertEq(_mig().tokenIndexOf(address(fresh)), 4);
    }

    /// @dev Two verified members cannot fill the table with tokens of their own: an open naming an unlisted
    /// collateral (or cash) token reverts and the table is unchanged.
    function test_open_revertsIfCollateralNotListed() public {
        BondToken fresh = _memberBond(seller);
        IRepoEngine.RepoTerms memory t = _terms(0);
        t.collateralToken = address(fresh);
        (bytes memory sellerSig, bytes memory buyerSig) = _expectOpenRefused(t, address(fresh));
        // Once the admin lists it, the same terms open.
        vm.prank(admin);
        _mig().listToken(address(fresh));
        engine.open(t, sellerSig, buyerSig);
    }

    function test_open_revertsIfCashNotListedInTheEngine() public {
        CashToken other = new CashToken("Other Deposit Token", "OTHD", "EUR", 2, registry, admin);
        vm.prank(admin);
        oracle.setCurrency(address(other), address(other)); // listed on the oracle, not in the engine
        IRepoEngine.RepoTerms memory t = _terms(0);
        t.cashToken = address(other);
        _expectOpenRefused(t, address(other));
    }

    /// @dev Both parties sign `t`; the open reverts for the unlisted `token`, which stays out of the table.
    function _expectOpenRefused(IRepoEngine.RepoTerms memory t, address token)
        internal
        returns (bytes memory sellerSig, bytes memory buyerSig)
    {
        sellerSig = _signTerms(sellerKey, t);
        buyerSig = _signTerms(buyerKey, t);
        vm.expectRevert(abi.encodeWithSelector(RepoTokens.RepoTokenNotListed.selector, token));
        engine.open(t, sellerSig, buyerSig);
        assertEq(_mig().tokenIndexOf(token), 0);
    }

    function test_substitute_revertsIfNewCollateralNotListed() public {
        uint256 repoId = _openOpenRepo();
        BondToken fresh = _memberBond(seller);
        uint256 nonce = nextNonce++;
        uint64 deadline = uint64(block.timestamp + 1 hours);
        bytes memory sig = _signSubstitution(buyerKey, repoId, address(fresh), COLLATERAL, nonce, deadline);
        vm.expectRevert(abi.encodeWithSelector(RepoTokens.RepoTokenNotListed.selector, address(fresh)));
        vm.prank(seller);
        engine.substitute(repoId, address(fresh), COLLATERAL, sig, nonce, deadline);
        assertEq(engine.getRepo(repoId).collateralToken, address(bond));
    }

    /// @dev A bond a member deployed itself (its own admin and issuer), minted to it, approved to the engine and
    /// priced like the fixture's bond.
    function _memberBond(address member) internal returns (BondToken fresh) {
        vm.startPrank(member);
        fresh = new BondToken("Own bond", "OWN", "XS0000000000", 0, 0.01e18, T0 + 365 days, member, registry, member);
        fresh.grantRole(fresh.ISSUER_ROLE(), member);
        fresh.mint(member, COLLATERAL);
        fresh.approve(address(engine), type(uint256).max);
        vm.stopPrank();
        _setPrice(address(fresh), address(cash), BOND_PRICE);
    }

    function test_listToken_revertsIfNotAdmin() public {
        vm.expectRevert(
            abi.encodeWithSelector(IAccessControl.AccessControlUnauthorizedAccount.selector, outsider, bytes32(0))
        );
        vm.prank(outsider);
        _mig().listToken(address(bond2));
    }

    function test_listToken_revertsForZero() public {
        vm.expectRevert(abi.encodeWithSelector(IRepoEngine.RepoInvalidToken.selector, address(0)));
        vm.prank(admin);
        _mig().listToken(address(0));
    }

    function test_getRepo_unknownRepoIsEmpty() public view {
        IRepoEngine.Repo memory r = engine.getRepo(99);
        assertEq(uint8(r.status), 0);
        assertEq(r.cashToken, address(0));
        assertEq(r.dayCountBasis, 0);
    }
}
