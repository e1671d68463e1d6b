// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {IRepoEngine} from "../src/interfaces/IRepoEngine.sol";
import {RepoFixture} from "./utils/RepoFixture.sol";

/// @notice Accrual (PD, RP) against an independent reference: plain 256-bit products and integer division instead of
/// the engine's 512-bit mulDiv, plus the exact rounding bound checked by cross-multiplication.
contract RepoEngineAccrualTest is RepoFixture {
    uint256 internal constant DAY = 86_400;

    function _openWith(uint256 pp, int256 rate, uint16 basis, uint64 maturity) internal returns (uint256) {
        IRepoEngine.RepoTerms memory t = _terms(maturity);
        t.purchasePrice = pp;
        t.rate = rate;
        t.dayCountBasis = basis;
        t.haircutBps = 0;
        _mintCash(buyer, pp);
        return _open(t);
    }

    function test_repurchasePrice_knownValue360() public {
        uint256 repoId = _openOpenRepo();
        // 1,000,000.00 EUR at 3.5% for 30 days ACT/360 = 2,916.666… EUR → rounded up to 2,916.67.
        assertEq(engine.repurchasePrice(repoId, uint64(block.timestamp + 30 days)), PP + 2_916_67);
    }

    function test_repurchasePrice_knownValue365() public {
        IRepoEngine.RepoTerms memory t = _terms(0);
        t.dayCountBasis = 365;
        uint256 repoId = _open(t);
        // 1,000,000.00 × 3.5% × 365/365 = 35,000.00 exactly.
        assertEq(engine.repurchasePrice(repoId, uint64(block.timestamp + 365 days)), PP + 35_000_00);
    }

    function test_repurchasePrice_negativeRateRoundsTowardLender() public {
        uint256 repoId = _openWith(PP, -0.005e18, 360, 0);
        // −1,000,000.00 × 0.5% × 1/360 = −13.888… EUR → −13.88 (toward +infinity).
        assertEq(engine.repurchasePrice(repoId, uint64(block.timestamp + 1 days)), PP - 13_88);
    }

    function test_repurchasePrice_oneSecondRoundsUp() public {
        uint256 repoId = _openOpenRepo();
        assertEq(engine.repurchasePrice(repoId, uint64(block.timestamp + 1)), PP + 1);
    }

    function test_repurchasePrice_beforePeriodStartIsPurchasePrice() public {
        uint256 repoId = _openOpenRepo();
        assertEq(engine.repurchasePrice(repoId, uint64(block.timestamp - 100)), PP);
    }

    function test_repurchasePrice_stopsAtMaturity() public {
        uint64 maturity = uint64(block.timestamp) + TERM;
        uint256 repoId = _openWith(PP, RATE, 360, maturity);
        uint256 atMaturity = engine.repurchasePrice(repoId, maturity);
        assertEq(engine.repurchasePrice(repoId, maturity + 10 days), atMaturity);
        assertEq(atMaturity, PP + uint256(_refPD(PP, RATE, 360, TERM)));
    }

    function test_repurchasePrice_clampsAtZero() public {
        uint256 repoId = _openWith(PP, -1000e18, 360, 0);
        assertEq(engine.repurchasePrice(repoId, uint64(block.timestamp + 1 days)), 0);
    }

    /// forge-config: default.fuzz.runs = 256
    function testFuzz_repurchasePrice_matchesReference(uint256 pp, int256 rate, bool basis365, uint256 elapsed) public {
        pp = bound(pp, 1, 1e30);
        rate = bound(rate, -1000e18, 1000e18);
        elapsed = bound(elapsed, 0, 10 * 365 days);
        uint16 basis = basis365 ? 365 : 360;
        uint256 repoId = _openWith(pp, rate, basis, 0);
        uint64 at = uint64(block.timestamp + elapsed);

        int256 pd = _refPD(pp, rate, basis, elapsed);
        int256 expected = int256(pp) + pd;
        uint256 rp = engine.repurchasePrice(repoId, at);
        assertEq(rp, expected > 0 ? uint256(expected) : 0);
        _assertLenderRounding(pp, rate, basis, elapsed, pd);
    }

    function testFuzz_repurchasePrice_termCappedAtMaturity(uint256 pp, int256 rate, uint256 term, uint256 elapsed)
        public
    {
        pp = bound(pp, 1, 1e30);
        rate = bound(rate, -10e18, 10e18);
        term = bound(term, 1, 365 days);
        elapsed = bound(elapsed, 0, 2 * 365 days);
        uint256 repoId = _openWith(pp, rate, 360, uint64(block.timestamp + term));
        uint256 accrued = elapsed < term ? elapsed : term;
        int256 expected = int256(pp) + _refPD(pp, rate, 360, accrued);
        assertEq(
            engine.repurchasePrice(repoId, uint64(block.timestamp + elapsed)), expected > 0 ? uint256(expected) : 0
        );
    }

    function testFuzz_repurchasePrice_monotoneInTime(uint256 t1, uint256 t2) public {
        uint256 repoId = _openOpenRepo();
        t1 = bound(t1, 0, 3650 days);
        t2 = bound(t2, t1, 3650 days);
        assertLe(
            engine.repurchasePrice(repoId, uint64(block.timestamp + t1)),
            engine.repurchasePrice(repoId, uint64(block.timestamp + t2))
        );
    }

    /// @dev Exactness and lender's favour by cross-multiplication: with N = PP·|r|·dt and D = B·86400·1e18,
    /// a positive PD satisfies (PD − 1)·D < N <= PD·D, a negative one |PD|·D <= N < (|PD| + 1)·D.
    function _assertLenderRounding(uint256 pp, int256 rate, uint16 basis, uint256 elapsed, int256 pd) internal pure {
        uint256 absRate = rate >= 0 ? uint256(rate) : uint256(-rate);
        uint256 n = pp * absRate * elapsed;
        uint256 d = uint256(basis) * DAY * 1e18;
        if (rate >= 0) {
            uint256 up = uint256(pd);
            assertLe(n, up * d, "PD not below the exact value");
            if (up > 0) assertLt((up - 1) * d, n, "PD at most one unit above");
        } else {
            uint256 down = uint256(-pd);
            assertLe(down * d, n, "|PD| not above the exact value");
            assertLt(n, (down + 1) * d, "|PD| at most one unit below");
        }
    }
}
