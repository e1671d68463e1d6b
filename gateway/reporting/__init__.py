"""SFTR repo reporting (Regulation (EU) 2015/2365, RTS/ITS 2019/356–363): one report record per repo event, derived
from the gateway's indexed tables; exported as ISO 20022-style XML (validated against the XSD in ``schema/``) and
as CSV, as a daily file per member; and a reconciliation of the two sides' reports by UTI."""
