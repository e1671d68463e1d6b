"""The XML file validates against the shipped XSD, and the XSD refuses broken documents."""

from datetime import UTC, date, datetime

import pytest
from lxml import etree

from gateway.reporting import xml_export
from gateway.reporting.csv_export import from_csv, to_csv
from gateway.reporting.derive import records_of
from gateway.reporting.exceptions import ReportInvalid
from gateway.reporting.records import Side
from gateway.reporting.xml_export import NAMESPACE, Header, document, validation_errors
from tests.gateway.reporting.factories import INSTRUMENTS, PARTIES, PRICES, SELLER_LEI, lifecycle

HEADER = Header("R-1", datetime(2026, 12, 4, 12, tzinfo=UTC), date(2026, 12, 4), SELLER_LEI)


def _document() -> bytes:
    records = records_of(PARTIES, lifecycle(), side=Side.GIVE, instruments=INSTRUMENTS, prices=PRICES)
    return document(HEADER, records)


def test_the_report_validates_and_names_each_action() -> None:
    data = _document()
    assert validation_errors(data) == []
    tree = etree.fromstring(data)
    actions = [el.tag.split("}")[1] for el in tree.iterfind(f".//{{{NAMESPACE}}}Rpt/*")]
    assert actions == ["New", "ValtnUpd", "CollUpd", "ValtnUpd", "CollUpd", "Mod", "EarlyTermntn"]
    assert tree.findtext(f".//{{{NAMESPACE}}}NbOfRpts") == "7"


@pytest.mark.parametrize(
    ("broken", "needle"),
    [
        (b"<UnqTradIdr>", b"<UnqTradIdr>lower-case-"),  # a UTI outside [A-Z0-9]
        (b"<CtrPtySd>GIVE", b"<CtrPtySd>LEND"),  # no such side
        (b"<ISIN>DE0001102580", b"<ISIN>DE000110258X"),  # ISIN check position must be a digit
        (b'Ccy="EUR"', b'Ccy="euro"'),
    ],
)
def test_the_schema_refuses_a_broken_document(broken: bytes, needle: bytes) -> None:
    data = _document()
    assert broken in data
    errors = validation_errors(data.replace(broken, needle, 1))
    assert errors, "the XSD accepted a broken document"


def test_a_missing_required_element_and_malformed_xml_are_refused() -> None:
    data = _document()
    start = data.index(b"<ValDt>")
    end = data.index(b"</ValDt>") + len(b"</ValDt>")
    assert validation_errors(data[:start] + data[end:])
    assert validation_errors(data[:-20])[0].startswith("not well-formed")


def test_document_refuses_to_emit_what_does_not_validate() -> None:
    from dataclasses import replace

    [record] = records_of(PARTIES, lifecycle()[:1], side=Side.GIVE, instruments=INSTRUMENTS, prices=PRICES)
    with pytest.raises(ReportInvalid):
        document(HEADER, [replace(record, cash_currency="XX")])


def test_csv_round_trips() -> None:
    records = records_of(PARTIES, lifecycle(), side=Side.GIVE, instruments=INSTRUMENTS, prices=PRICES)
    text = to_csv(records)
    assert text.splitlines()[0].startswith("uti,reporting_counterparty,other_counterparty,counterparty_side")
    assert from_csv(text) == records


def test_the_schema_file_ships_with_the_package() -> None:
    assert xml_export.SCHEMA_PATH.is_file()
