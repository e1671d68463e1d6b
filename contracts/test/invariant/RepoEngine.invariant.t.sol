// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {BondToken} from "../../src/BondToken.sol";
import {IRepoEngine} from "../../src/interfaces/IRepoEngine.sol";
import {IRepoShortfalls} from "../../src/interfaces/IRepoShortfalls.sol";
import {RepoEngine} from "../../src/RepoEngine.sol";
import {RepoPosition} from "../../src/RepoPosition.sol";
import {BaseFixture} from "../utils/BaseFixture.sol";
import {RepoEngineHandler} from "./RepoEngineHandler.sol";

/// @notice DESIGN.md's invariants under random sequences of every repo step, freezes and cash-token pauses: the
/// engine holds exactly the collateral and cash margin of live repos plus claims; a close-out never fails and a
/// pause never creates a default; token supplies are conserved (nothing in these steps mints or burns);
/// each live repo has exactly one position held by a verified wallet and closed ones none; no unverified wallet
/// holds a token or a position; shortfall debts add up; coupons paid by a paying agent pass through without
/// leaving anything in escrow but claims. (That a failed leg reverts the whole step is covered by unit tests.)
contract RepoEngineInvariantTest is BaseFixture {
    RepoEngine internal engine;
    RepoPosition internal position;
    BondToken internal bond2;
    RepoEngineHandler internal handler;
    address internal outsider;
    address[] internal actors;
    IERC20[] internal tokens;
    uint256[] internal supplies;

    function setUp() public virtual override {
        super.setUp();
        engine = new RepoEngine(registry, oracle, admin);
        position = RepoPosition(address(engine.position()));
        _addSystemAccount(address(engine));
        bond2 = new BondToken(
            "OAT 3% 2034", "OAT34", "FR0011883966", 0, 0.03e18, T0 + 8 * 365 days, bondIssuer, registry, admin
        );
        address[] memory listed = new address[](3);
        (listed[0], listed[1], listed[2]) = (address(cash), address(bond), address(bond2));
        _listTokens(address(engine), listed);
        outsider = makeAddr("outsider");

        uint256[] memory keys = new uint256[](4);
        string[4] memory names = ["alice", "bob", "carol", "dave"];
        for (uint256 i; i < 4; ++i) {
            (address a, uint256 k) = _verifiedAccount(names[i]);
            actors.push(a);
            keys[i] = k;
            _mintCash(a, 1_000_000_000_00);
            _mintBond(a, 1_000_000_000);
            vm.prank(admin);
            bond2.mint(a, 1_000_000_000);
            vm.startPrank(a);
            cash.approve(address(engine), type(uint256).max);
            bond.approve(address(engine), type(uint256).max);
            bond2.approve(address(engine), type(uint256).max);
            vm.stopPrank();
        }

        // A coupon every 4 days (record date a day before payment) for the whole run.
        uint64[] memory record = new uint64[](80);
        uint64[] memory pay = new uint64[](80);
        for (uint256 i; i < 80; ++i) {
            pay[i] = uint64(T0 + (i + 1) * 4 days);
            record[i] = pay[i] - 1 days;
        }
        vm.prank(admin);
        bond.setCouponSchedule(address(cash), 2, record, pay);

        handler = new RepoEngineHandler(engine, cash, bond, bond2, oracle, registry, admin, outsider, actors, keys);
        _setBondPrice(BOND_PRICE);
        _setPrice(address(bond2), address(cash), 101e18);

        tokens.push(IERC20(address(cash)));
        tokens.push(IERC20(address(bond)));
        tokens.push(IERC20(address(bond2)));
        for (uint256 i; i < tokens.length; ++i) {
            supplies.push(tokens[i].totalSupply());
        }

        targetContract(address(handler));
    }

    /// @dev The engine's balance of each token is exactly the collateral plus cash margin of live repos plus the
    /// claims it holds for parties that could not receive a payment; the claims add up per party.
    function invariant_escrowMatchesLiveRepos() public view {
        uint256 count = engine.repoCount();
        for (uint256 t; t < tokens.length; ++t) {
            address token = address(tokens[t]);
            uint256 owed = engine.totalClaims(token);
            uint256 perParty;
            for (uint256 i; i < actors.length; ++i) {
                perParty += engine.claimOf(actors[i], token);
            }
            assertEq(perParty, owed, "claims do not add up");
            for (uint256 id = 1; id <= count; ++id) {
                IRepoEngine.Repo memory r = engine.getRepo(id);
                if (_live(r.status)) {
                    if (r.collateralToken == token) owed += r.collateralAmount;
                    if (r.cashToken == token) owed += r.cashMargin;
                } else {
                    assertEq(r.collateralAmount, 0, "closed repo keeps collateral");
                    assertEq(r.cashMargin, 0, "closed repo keeps cash margin");
                }
            }
            assertEq(tokens[t].balanceOf(address(engine)), owed, "escrow != live collateral + cash margin + claims");
        }
    }

    /// @dev Supplies never change, and all of each token stays with the actors and the engine.
    function invariant_supplyConserved() public view {
        for (uint256 t; t < tokens.length; ++t) {
            uint256 held = tokens[t].balanceOf(address(engine));
            for (uint256 i; i < actors.length; ++i) {
                held += tokens[t].balanceOf(actors[i]);
            }
            assertEq(tokens[t].totalSupply(), supplies[t], "supply changed");
            assertEq(held, supplies[t], "tokens left the system");
        }
    }

    /// @dev Each seller's shortfall debt is the sum of its repos' unpaid shortfalls, each owed to a creditor.
    function invariant_shortfallsAddUp() public view {
        uint256 count = engine.repoCount();
        for (uint256 i; i < actors.length; ++i) {
            uint256 sum;
            for (uint256 id = 1; id <= count; ++id) {
                IRepoShortfalls.Shortfall memory s = engine.shortfallLedger().shortfall(id);
                if (s.seller == actors[i]) sum += s.remaining;
                if (s.remaining > 0) assertTrue(s.creditor != address(0), "shortfall without creditor");
            }
            assertEq(sum, engine.shortfallLedger().shortfallDebt(actors[i], address(cash)), "shortfall debt != unpaid shortfalls");
        }
    }

    /// @dev One position per live repo, held by a verified wallet; none for closed repos.
    function invariant_onePositionPerLiveRepo() public view {
        uint256 count = engine.repoCount();
        uint256 live;
        for (uint256 id = 1; id <= count; ++id) {
            IRepoEngine.Repo memory r = engine.getRepo(id);
            if (_live(r.status)) {
                ++live;
                address holder = position.ownerOf(id);
                assertTrue(holder != address(0), "live repo without holder");
                assertTrue(registry.isVerified(holder), "position held by an unverified wallet");
            } else {
                (bool ok,) = address(position).staticcall(abi.encodeCall(position.ownerOf, (id)));
                assertFalse(ok, "closed repo still has a position");
            }
        }
        uint256 held;
        for (uint256 i; i < actors.length; ++i) {
            held += position.balanceOf(actors[i]);
        }
        assertEq(held, live, "positions != live repos");
    }

    /// @dev No unverified wallet holds a token or a position; no forbidden step ever succeeded.
    function invariant_noUnverifiedHolder() public view {
        for (uint256 t; t < tokens.length; ++t) {
            assertEq(tokens[t].balanceOf(outsider), 0, "outsider holds a token");
            for (uint256 i; i < actors.length; ++i) {
                if (tokens[t].balanceOf(actors[i]) > 0) {
                    assertTrue(registry.isVerified(actors[i]), "unverified holder");
                }
            }
        }
        assertTrue(registry.isVerified(address(engine)), "engine escrow not a system account");
        assertEq(position.balanceOf(outsider), 0, "outsider holds a position");
        assertEq(handler.violations(), 0, "a forbidden step succeeded");
    }

    /// @dev Margin-call data matches the status; shortfalls exist only for closed-out repos; ids are sequential.
    function invariant_statusConsistent() public view {
        uint256 count = engine.repoCount();
        for (uint256 id = 1; id <= count; ++id) {
            IRepoEngine.Repo memory r = engine.getRepo(id);
            assertTrue(r.status != IRepoEngine.RepoStatus.NONE, "gap in repo ids");
            if (r.status == IRepoEngine.RepoStatus.MARGIN_CALLED) {
                assertGt(r.marginCallOutstanding, 0, "margin call without amount");
                assertGt(r.cureDeadline, 0, "margin call without deadline");
            }
            if (r.status == IRepoEngine.RepoStatus.OPEN) {
                assertEq(r.marginCallOutstanding, 0, "open repo with outstanding call");
            }
            if (r.status != IRepoEngine.RepoStatus.CLOSED_OUT) {
                assertEq(engine.shortfallOf(id), 0, "shortfall outside close-out");
            }
            assertGe(uint256(r.periodStart), uint256(r.openedAt), "rate period before open");
        }
        assertTrue(engine.getRepo(count + 1).status == IRepoEngine.RepoStatus.NONE, "repo beyond count");
    }

    /// @dev The handler's steps are meaningful: a bounded open succeeds.
    function test_handler_opens() public {
        handler.open(0, 1, 1e8, 100, 0.03e18, 10 days, 200);
        assertEq(engine.repoCount(), 1);
        assertEq(handler.calls("open"), 1);
    }

    /// @dev The handler's coupon step is meaningful: a coupon is paid once, and paying it again counts as a violation
    /// only if it succeeds.
    function test_handler_paysCoupon() public {
        handler.open(0, 1, 1e8, 100, 0.03e18, 20 days, 200);
        handler.warp(2 days);
        handler.warp(2 days);
        uint256 sellerCash = cash.balanceOf(actors[0]);
        handler.payCoupon(1, 2);
        assertEq(handler.calls("payCoupon"), 1);
        assertGt(cash.balanceOf(actors[0]), sellerCash, "the seller received the coupon");
        handler.warp(2 days);
        handler.warp(2 days);
        handler.payCoupon(1, 3);
        assertEq(handler.calls("payCoupon"), 2);
        assertEq(handler.violations(), 0);
    }

    /// @dev The handler's enforcement check bites: a defaulted repo of a frozen seller is closed out.
    function test_handler_closesOutFrozenSeller() public {
        handler.open(0, 1, 1e8, 100, 0.03e18, 10 days, 200);
        handler.freeze(0, false);
        handler.warp(2 days);
        handler.warp(2 days);
        handler.warp(2 days);
        handler.warp(2 days);
        handler.warp(2 days);
        handler.warp(2 days);
        handler.declareDefault(1);
        handler.closeOut(1);
        assertEq(handler.calls("closeOut"), 1);
        assertEq(handler.violations(), 0);
        assertGt(engine.totalClaims(address(bond)), 0, "the frozen seller's excess collateral is a claim");
    }

    function _live(IRepoEngine.RepoStatus s) internal pure returns (bool) {
        return s == IRepoEngine.RepoStatus.OPEN || s == IRepoEngine.RepoStatus.MARGIN_CALLED
            || s == IRepoEngine.RepoStatus.DEFAULTED;
    }
}
