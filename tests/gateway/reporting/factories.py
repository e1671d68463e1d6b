"""A repo's engine events as the indexer stores them (integers as decimal strings), for reporting's unit tests."""

from __future__ import annotations

from gateway.members.validation import lei_with_check_digits
from gateway.reporting.derive import EngineEvent, Instrument, RepoParties

SELLER_LEI = lei_with_check_digits("SELLERBANK00000000")
BUYER_LEI = lei_with_check_digits("BUYERFUND000000000")
CASH = "0x" + "c" * 40
BOND = "0x" + "b" * 40
BOND2 = "0x" + "d" * 40
T0 = 1_796_000_000  # 2026-11-30T... UTC
DAY = 86_400
INSTRUMENTS = {
    CASH: Instrument(CASH, 6, "EUR", None),
    BOND: Instrument(BOND, 0, "EUR", "DE0001102580"),
    BOND2: Instrument(BOND2, 0, "EUR", "FR0013508470"),
}
PRICES = {(BOND, CASH): 980 * 10**6 * 10**18, (BOND2, CASH): 990 * 10**6 * 10**18}  # 980 EUR a bond
PARTIES = RepoParties(repo_id=7, seller_lei=SELLER_LEI, buyer_lei=BUYER_LEI, haircut_bps=200, day_count_basis=360)


def event(name: str, n: int, at: int, **args: object) -> EngineEvent:
    return EngineEvent(name, {"repoId": "7", **args}, block_number=n, block_time=at, log_index=0, tx_hash=f"0x{n:064x}")


def lifecycle() -> list[EngineEvent]:
    """Opened, margin called and posted in cash, collateral substituted, re-rated, repurchased."""
    return [
        event(
            "RepoOpened",
            1,
            T0,
            seller="0x" + "1" * 40,
            buyer="0x" + "2" * 40,
            cashToken=CASH,
            purchasePrice=str(1_000_000 * 10**6),
            collateralToken=BOND,
            collateralAmount="1050",
            rate=str(35 * 10**15),
            maturity=str(T0 + 7 * DAY),
        ),
        event("MarginCalled", 2, T0 + DAY, caller="0x" + "2" * 40, amount=str(5_000 * 10**6), cureDeadline="0"),
        event(
            "MarginPosted", 3, T0 + DAY + 60, collateralAmount="0", cashAmount=str(5_000 * 10**6), outstandingCall="0"
        ),
        event("MarginCallCured", 4, T0 + DAY + 60),
        event(
            "CollateralSubstituted", 5, T0 + 2 * DAY, oldToken=BOND, oldAmount="1050", newToken=BOND2, newAmount="1100"
        ),
        event("RepoRerated", 6, T0 + 3 * DAY, oldRate=str(35 * 10**15), newRate=str(4 * 10**16), crystallizedPD="0"),
        event("NonceCancelled", 7, T0 + 3 * DAY, signer="0x" + "1" * 40, nonce="3"),
        event(
            "RepoRepurchased",
            8,
            T0 + 7 * DAY,
            holder="0x" + "2" * 40,
            repurchasePrice="1",
            cashMarginApplied="0",
            collateralReturned="1100",
            early=False,
        ),
    ]
