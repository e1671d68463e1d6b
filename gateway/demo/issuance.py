"""The demo's issuance chapter: cash to both members and the two bonds to the seller (through the gateway's operator
endpoint when it has one, else the issuer key), and the bonds' first prices."""

from __future__ import annotations

from gateway.demo.stage import Stage
from gateway.ops.chain import send, to_units


def issue(stage: Stage) -> None:
    stage.chapter("Cash and bonds are issued")
    a, b = stage.members["a"].wallet.address, stage.members["b"].wallet.address
    plan = [
        (stage.cash, b, "15000000"),
        (stage.cash, a, "50000"),
        (stage.gov, a, "10500000"),
        (stage.corp, a, "5000000"),
    ]
    for t, to, amount in plan:
        who = stage.members["a" if to == a else "b"].name
        if t.currency and stage.gateway_trading:
            stage.settle(
                stage.ops_session().post(
                    "/v1/operator/cash/issue", body={"token": t.address, "wallet": to, "amount": amount}
                ),
                "cash issue",
            )
            stage.say(
                f"operator issues {stage.amount(t, to_units(amount, t.decimals))} to {who} "
                "(gateway: POST /v1/operator/cash/issue, sent by the settlement relayer)"
            )
            stage.gateway_steps.append("cash issuance (POST /v1/operator/cash/issue)")
            continue
        send(stage.w3, stage.issuer, stage.tok(t).functions.mint(to, to_units(amount, t.decimals)), f"mint {t.symbol}")
        stage.say(f"issuer mints {stage.amount(t, to_units(amount, t.decimals))} to {who}")
        stage.via_chain("cash issuance (issuer key, mint)" if t.currency else "bond issuance (issuer key, mint)")
    for bond in (stage.gov, stage.corp):
        stage.post_price(bond, "100")
    stage.say(
        f"prices posted: {stage.gov.symbol} 100.00, {stage.corp.symbol} 100.00 (percent of par, in {stage.cash.symbol})"
    )
