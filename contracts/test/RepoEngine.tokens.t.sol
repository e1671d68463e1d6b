// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {IAccessControl} from "@openzeppelin/contracts/access/IAccessControl.sol";
import {IRepoEngine} from "../src/interfaces/IRepoEngine.sol";
import {IRepoMigration} from "../src/interfaces/IRepoMigration.sol";
import {RepoFixture} from "./utils/RepoFixture.sol";

/// @dev The engine's token table (RepoTokens): tokens stored as 16-bit indices, resolved back to addresses.
contract RepoEngineTokensTest is RepoFixture {
    function _mig() internal view returns (IRepoMigration) {
        return IRepoMigration(address(engine));
    }

    function test_open_internsBothTokens_andGetRepoAnswersAddresses() public {
        assertEq(_mig().tokenIndexOf(address(cash)), 0);
        uint256 repoId = _openOpenRepo();
        assertEq(_mig().tokenIndexOf(address(cash)), 1);
        assertEq(_mig().tokenIndexOf(address(bond)), 2);
        IRepoEngine.Repo memory r = engine.getRepo(repoId);
        assertEq(r.cashToken, address(cash));
        assertEq(r.collateralToken, address(bond));
        // A second repo in the same pair reuses the indices.
        _openTermRepo();
        assertEq(_mig().tokenIndexOf(address(bond2)), 0);
    }

    function test_listToken_internsOnce() public {
        vm.prank(admin);
        uint16 index = _mig().listToken(address(bond2));
        assertEq(index, 1);
        vm.prank(admin);
        assertEq(_mig().listToken(address(bond2)), 1);
        assertEq(_mig().tokenIndexOf(address(bond2)), 1);
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
