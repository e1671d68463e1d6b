"""Corrections: a day reported with collateral valued at the reporting day's price is corrected, record by record,
to the price at each event; the CORR records validate against the shipped schema; what did not change, and what
was never reported, makes no correction."""

from lxml import etree

from gateway.reporting.corrections import corrections
from gateway.reporting.csv_export import from_csv, to_csv
from gateway.reporting.derive import PricePoint, records_of
from gateway.reporting.records import ActionType, Side
from gateway.reporting.xml_export import NAMESPACE, document, validation_errors
from tests.gateway.reporting.factories import BOND, BOND2, CASH, INSTRUMENTS, PARTIES, lifecycle
from tests.gateway.reporting.test_xml_export import HEADER

UNIT = 10**6 * 10**18  # one EUR a bond, 1e18 per smallest unit
TODAY = {(BOND, CASH): 900 * UNIT, (BOND2, CASH): 990 * UNIT}
HISTORY = {(BOND, CASH): [PricePoint(0, 0, 980 * UNIT), PricePoint(2, 5, 900 * UNIT)], (BOND2, CASH): []}


def test_records_reported_at_todays_price_are_corrected_to_the_price_at_their_event() -> None:
    sent = records_of(PARTIES, lifecycle(), side=Side.GIVE, instruments=INSTRUMENTS, prices=TODAY)
    reported = from_csv(to_csv(sent))  # the day's CSV as it was sent
    now = records_of(PARTIES, lifecycle(), side=Side.GIVE, instruments=INSTRUMENTS, prices=TODAY, history=HISTORY)
    fixes = corrections(reported, now)
    # the open and the call (block 2, before the 900 posted later in that block) were worth 980 a bond then
    assert [(f.event, f.action_type, f.collateral_price) for f in fixes] == [
        ("RepoOpened", ActionType.CORR, "980.000000"),
        ("MarginCalled", ActionType.CORR, "980.000000"),
    ]
    assert fixes[0].uti == sent[0].uti and fixes[0].collateral_market_value == "1029000.000000"
    xml = document(HEADER, fixes)
    assert validation_errors(xml) == []
    assert len(list(etree.fromstring(xml).iter(f"{{{NAMESPACE}}}Crrctn"))) == 2
    assert corrections(from_csv(to_csv(now)), now) == []  # nothing changed since
    assert corrections([], now) == []  # never reported: not a correction
