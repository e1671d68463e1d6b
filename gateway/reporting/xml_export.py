"""The daily report as ISO 20022-style XML (``schema/sftr_repo_report.xsd``: a simplified auth.052, its comment
says how), validated against that schema before it leaves: a document that does not validate is a bug."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from functools import cache
from pathlib import Path

from lxml import etree

from gateway.reporting.exceptions import ReportInvalid
from gateway.reporting.records import ActionType, ReportRecord, cell

SCHEMA_PATH = Path(__file__).with_name("schema") / "sftr_repo_report.xsd"
NAMESPACE = "urn:reponet:sftr:auth.052.001.01.simplified"
ACTION_ELEMENT: dict[ActionType, str] = {
    ActionType.NEWT: "New",
    ActionType.MODI: "Mod",
    ActionType.VALU: "ValtnUpd",
    ActionType.COLU: "CollUpd",
    ActionType.ETRM: "EarlyTermntn",
    ActionType.CORR: "Crrctn",
}


@dataclass(frozen=True)
class Header:
    report_number: str
    created_at: datetime  # UTC
    reporting_date: date
    member_lei: str


@cache
def schema() -> etree.XMLSchema:
    return etree.XMLSchema(etree.parse(str(SCHEMA_PATH)))


def _el(parent: etree._Element, name: str, text: str | None = None, **attrs: str) -> etree._Element:
    node = etree.SubElement(parent, f"{{{NAMESPACE}}}{name}", attrs)
    if text is not None:
        node.text = text
    return node


def _party(parent: etree._Element, name: str, lei: str) -> etree._Element:
    node = _el(parent, name)
    _el(_el(node, "Id"), "LEI", lei)
    return node


def _report(parent: etree._Element, r: ReportRecord) -> None:
    body = _el(_el(parent, "Rpt"), ACTION_ELEMENT[r.action_type])
    parties = _el(body, "CtrPtyData")
    _el(_party(parties, "RptgCtrPty", r.reporting_counterparty), "CtrPtySd", r.counterparty_side.value)
    _party(parties, "OthrCtrPty", r.other_counterparty)
    loan = _el(body, "Repo")
    _el(loan, "UnqTradIdr", r.uti)
    _el(loan, "EvtDt", cell(r.event_date))
    _el(loan, "ExctnDtTm", cell(r.execution_timestamp))
    _el(loan, "ValDt", cell(r.value_date))
    if r.maturity_date is None:
        _el(loan, "OpnTerm", "true")
    else:
        _el(loan, "MtrtyDt", cell(r.maturity_date))
    if r.termination_date is not None:
        _el(loan, "TermntnDt", cell(r.termination_date))
    _el(loan, "PrncplAmt", r.principal_amount, Ccy=r.cash_currency)
    rate = _el(loan, "FxdIntrstRate")
    _el(rate, "Rate", r.fixed_rate)
    _el(rate, "DayCntBsis", r.day_count)
    coll = _el(_el(body, "CollData"), "Coll")
    _el(coll, "Tp", r.collateral_type.value)
    if r.collateral_isin:
        _el(_el(coll, "SctyId"), "ISIN", r.collateral_isin)
    _el(coll, "Qty", r.collateral_quantity)
    _el(coll, "Ccy", r.collateral_currency)
    if r.collateral_price:
        _el(coll, "Pric", r.collateral_price, Ccy=r.cash_currency)
    if r.collateral_market_value:
        _el(coll, "MktVal", r.collateral_market_value, Ccy=r.cash_currency)
    _el(coll, "Hrcut", r.haircut)
    margin = _el(body, "MrgnData")
    _el(margin, "CshMrgn", r.cash_margin, Ccy=r.cash_currency)
    _el(margin, "OutsdngCall", r.margin_call_outstanding, Ccy=r.cash_currency)
    extra = _el(body, "SplmtryData")
    _el(extra, "RepoId", str(r.repo_id))
    _el(extra, "Evt", r.event)
    _el(extra, "BlckNb", str(r.block_number))
    _el(extra, "LogIdx", str(r.log_index))
    _el(extra, "TxHash", r.tx_hash.lower())


def document(header: Header, records: list[ReportRecord]) -> bytes:
    """The report file's bytes (UTF-8, with declaration), validated; ``ReportInvalid`` if it is not."""
    root = etree.Element(f"{{{NAMESPACE}}}Document", nsmap={None: NAMESPACE})
    report = _el(root, "SctiesFincgRptgTxRpt")
    head = _el(report, "RptHdr")
    _el(head, "RptgNb", header.report_number)
    _el(head, "CreDtTm", cell(header.created_at))
    _el(head, "RptgDt", cell(header.reporting_date))
    _el(_el(head, "RptgMmb"), "LEI", header.member_lei)
    _el(head, "NbOfRpts", str(len(records)))
    trades = _el(report, "TradData")
    for record in records:
        _report(trades, record)
    data: bytes = etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)
    errors = validation_errors(data)
    if errors:
        raise ReportInvalid("; ".join(errors[:5]))
    return data


def validation_errors(data: bytes) -> list[str]:
    """What the shipped XSD finds wrong with ``data`` (empty: valid). Entities and network access are off."""
    parser = etree.XMLParser(resolve_entities=False, no_network=True)
    try:
        tree = etree.fromstring(data, parser)
    except etree.XMLSyntaxError as exc:
        return [f"not well-formed XML: {exc}"]
    checker = schema()
    if checker.validate(tree):
        return []
    return [f"line {e.line}: {e.message}" for e in checker.error_log]
