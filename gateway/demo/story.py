"""The demo story, told chapter by chapter against a running network.

Onboarding, KYC and wallet linking, and the audit trail go through the gateway's HTTPS API. Issuing cash and
bonds, prices and the repo lifecycle go through the gateway's endpoints when it has them, else over JSON-RPC with
keys the demo holds: the issuer key ``up`` created, and a self-held wallet per member that the member links to the
gateway with Sign-In with Ethereum. Every run onboards two new members, so the demo can run again on the same network
and leaves it usable; their wallet keys are kept in the data directory (``secrets/demo-wallets.json``).

This module holds only the order of the chapters; each lives in a module of its own, acting on the ``Stage``.
"""

from __future__ import annotations

from gateway.demo import fx, risk
from gateway.demo.audit_trail import audit
from gateway.demo.coupon import coupon_reaches_seller
from gateway.demo.gc import gc_trade
from gateway.demo.issuance import issue
from gateway.demo.lifecycle import default_and_close_out, price_falls_and_margin, repurchase
from gateway.demo.onboarding import onboard
from gateway.demo.records import DemoResult
from gateway.demo.reports import sftr_reports
from gateway.demo.stage import Stage
from gateway.demo.summary import summary
from gateway.demo.trading import trade
from gateway.ops.client import UserSession
from gateway.ops.network import COMPLIANCE_USER, OPS_USER

# The gateway's RFQ, trade-signing and operator endpoints: with all of them the story trades through the gateway.
TRADING_ROUTES = {
    "/v1/rfqs",
    "/v1/rfqs/{rfq_id}/quotes",
    "/v1/rfqs/{rfq_id}/accept",
    "/v1/trades/{trade_id}",
    "/v1/trades/{trade_id}/typed-data",
    "/v1/trades/{trade_id}/signature",
    "/v1/operator/cash/issue",
    "/v1/operator/prices",
    "/v1/settlements/{settlement_id}",
}


class Story(Stage):
    def run(self) -> DemoResult:
        ops = self.net.session(OPS_USER)
        compliance = self.net.session(COMPLIANCE_USER)
        self.ops = ops
        paths = set(self.net.gateway.get("/openapi.json").get("paths", {}))
        self.paths = paths
        self.gateway_trading = TRADING_ROUTES <= paths and self.use_gateway_trading
        onboard(self, ops, compliance)
        issue(self)
        repo1, repo2 = trade(self)
        gc_trade(self)
        coupon_reaches_seller(self, repo1)
        repo3 = fx.open_eur_repo(self)
        automatic = risk.risk_service_available(self)
        if automatic:  # Repo 2 closes out first: its surplus collateral would net Repo 1's exposure away
            default_and_close_out(self, repo2)
            risk.agree_and_grant(self)
        price_falls_and_margin(self, repo1, automatic=automatic)
        if repo3 is not None:
            fx.margin_eur_repo(self, repo3, automatic=automatic)
        if automatic:
            self.chapter("Stress: Fund B's book under collateral falls of 5, 10 and 20%")
            risk.stress_report(self, self.members["b"])
        else:
            default_and_close_out(self, repo2)
        repurchase(self, repo1)
        if repo3 is not None:
            fx.repurchase_eur_repo(self, repo3)
        reports = sftr_reports(self, compliance)
        result = summary(self, audit(self, compliance))
        result.reports = reports
        return result

    def onboard(self, ops: UserSession, compliance: UserSession) -> None:
        """The onboarding chapter alone (``scripts/bench_gateway.py`` sets its members up with it)."""
        onboard(self, ops, compliance)
