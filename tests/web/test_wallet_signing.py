"""A self-held wallet in the browser: the page links the browser wallet (an injected EIP-1193 provider; here a test
wallet that signs with a local key, as MetaMask would with its own) with Sign-In with Ethereum, then asks it for
``eth_signTypedData_v4`` over the EIP-712 document of the terms on screen, and the repo opens on chain. The page
refuses, before the wallet is asked, a document that is not the terms on screen and a wallet account that is not
the trade's. The page sends the wallet's approval of the repo engine for a token. A self-held seller's repurchase
comes back from the API as a transaction, which the browser wallet sends (``eth_sendTransaction``); one its user
declines stays handed out and is sent on a second try."""

from __future__ import annotations

import json
from typing import Any

import pytest
from eth_account import Account
from eth_account.messages import encode_defunct

from tests.e2e.chains import BOND_DECIMALS, CASH_DECIMALS
from tests.e2e.test_lifecycle_paths import Env
from tests.e2e.test_trading_chain import repo_state, wait_for
from tests.gateway.market import call, register_self_held, step_up
from tests.web.browser import MARKS, axe_serious, launch, open_app, sign_in

pytestmark = MARKS
playwright = pytest.importorskip("playwright.sync_api", reason="Playwright for Python is a dev dependency")

# The provider the page finds at ``window.ethereum``: every request goes to the test's Python wallet (a binding).
BINDING = "reponetLocalKeyWallet"
PROVIDER = f"""window.ethereum = {{
  request: ({{ method, params }}) => window.{BINDING}(method, params ?? []),
}};"""


class LocalKeyWallet:
    """An EIP-1193 wallet in the test process: it offers ``offered``, signs with ``key`` and sends its transactions
    to the node of ``w3``."""

    def __init__(self, key: Any, w3: Any) -> None:
        self.key, self.w3 = key, w3
        self.chain_id = int(w3.eth.chain_id)  # the network the wallet is on (a test moves it elsewhere)
        self.offered = [key.address]
        self.requests: list[str] = []
        self.decline_sends = 0  # the next transactions its user declines

    def __call__(self, method: str, params: list[Any]) -> Any:
        self.requests.append(method)
        if method == "eth_chainId":
            return hex(self.chain_id)
        if method == "eth_requestAccounts":
            return self.offered
        if method == "eth_getTransactionReceipt":
            receipt = self.w3.eth.get_transaction_receipt(params[0])
            return {"status": hex(int(receipt["status"])), "transactionHash": params[0]}
        if method == "eth_call":  # a read through the wallet's own node
            call, block = params
            return "0x" + bytes(self.w3.eth.call({"to": call["to"], "data": call["data"]}, block)).hex()
        if method == "personal_sign":  # EIP-1193: [message as hex, account]
            assert str(params[1]).lower() == self.key.address.lower()
            signed = self.key.sign_message(encode_defunct(hexstr=params[0]))
            return "0x" + bytes(signed.signature).hex()
        if method == "eth_signTypedData_v4":
            assert str(params[0]).lower() == self.key.address.lower()
            signed = self.key.sign_typed_data(full_message=json.loads(params[1]))
            return "0x" + bytes(signed.signature).hex()
        if method == "eth_sendTransaction":
            from contracts.deploy import _send

            tx = params[0]
            assert str(tx["from"]).lower() == self.key.address.lower()
            if self.decline_sends > 0:
                self.decline_sends -= 1
                raise ValueError("the user declined the transaction")
            receipt = _send(self.w3, self.key, {"to": tx["to"], "data": tx["data"]}, "from the browser wallet")
            return "0x" + bytes(receipt["transactionHash"]).hex()
        raise ValueError(f"the test wallet does not do {method}")


def _page_with_wallet(browser: Any, wallet: LocalKeyWallet, origin: str, member: Any) -> tuple[Any, list[str]]:
    """A page of its own context with ``wallet`` injected as the browser wallet, ``member`` signed in; and the
    page's uncaught errors."""
    context = browser.new_context(bypass_csp=False)
    context.expose_function(BINDING, wallet)
    context.add_init_script(PROVIDER)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(f"{origin}/app")
    sign_in(page, member)
    return page, errors


def _tampering(part: str, field: str, value: str) -> Any:
    """A route handler that passes the gateway's answer on with ``part[field]`` set to ``value``."""

    def handle(route: Any) -> None:
        response = route.fetch()
        body = response.json()
        body[part][field] = value
        route.fulfill(response=response, json=body)

    return handle


def _fund(env: Env, key: Any) -> None:
    """The linked wallet gets cash from the issuer and lets the engine take it (its own transaction)."""
    env.issue_cash(key.address, "200000")
    env.d.send(key, env.d.cash.functions.approve(env.engine, 2**256 - 1))


def test_a_self_held_wallet_signs_the_terms_on_screen_through_the_browser_wallet(served: tuple[Env, str]) -> None:
    env, origin = served
    env.price("98")
    key = Account.create()
    wallet = LocalKeyWallet(key, env.d.w3)
    with playwright.sync_playwright() as p:
        browser = launch(p)
        try:
            page, errors = _page_with_wallet(browser, wallet, origin, env.b_trader)

            # B links its browser wallet: Sign-In with Ethereum, a fresh TOTP code
            page.get_by_label("Wallet label").fill("browser wallet")
            page.get_by_label("A fresh code from your authenticator app (linking asks for one)").fill(
                env.b_trader.totp_now()
            )
            page.get_by_role("button", name="Link your browser wallet").click()
            page.get_by_text("Linked: browser wallet").wait_for(timeout=60_000)
            assert wallet.requests == ["eth_requestAccounts", "personal_sign"]
            linked = env.b_trader.get("/v1/wallets?limit=200").json()["data"]
            assert any(w["address"].lower() == key.address.lower() and w["kind"] == "self_held" for w in linked)
            assert wait_for(lambda: env.d.registry.functions.isVerified(key.address).call(), bool)  # the outbox
            offered = page.locator("#rfq-wallet option").all_inner_texts()
            assert any(o.startswith("browser wallet (" + key.address[:10]) for o in offered), offered

            # B's new wallet gets cash, and lets the engine take it: an approval its browser wallet sends from the page
            env.issue_cash(key.address, "200000")
            allow = page.locator("#allow-form")
            allow.wait_for(state="visible", timeout=30_000)  # shown once the member has a self-held wallet
            page.get_by_label("Self-held wallet", exact=True).select_option(key.address)
            page.get_by_label("Token", exact=True).select_option(env.cash)
            wallet.requests = []
            allow.get_by_role("button", name="Allow the repo engine").click()
            page.get_by_text("The repo engine's allowance from").wait_for(timeout=60_000)
            assert page.locator("#allow-status").inner_text().endswith("is now unlimited.")
            assert wallet.requests == [
                "eth_chainId", "eth_requestAccounts", "eth_sendTransaction", "eth_getTransactionReceipt", "eth_call"
            ]  # fmt: skip
            assert env.d.cash.functions.allowance(key.address, env.engine).call() == 2**256 - 1
            assert axe_serious(page) == []

            # A proposes terms to that wallet and signs custodially (the API); B's page is opened again to see them
            trade_id = env.direct_trade(seller_wallet_id=env.a_wallet["id"], buyer=key.address, tenor_seconds=3600)
            step_up(env.a_trader)
            assert call(env.a_trader, f"/v1/trades/{trade_id}/sign").status_code == 200
            wallet.requests = []
            page.reload()
            sign_in(page, env.b_trader)
            page.locator(f'#trades tr[data-id="{trade_id}"]').get_by_role("button", name="Review").click()
            terms = page.locator("#trade-terms")
            terms.wait_for(state="visible", timeout=30_000)
            assert key.address.lower() in terms.inner_text().lower()
            assert page.locator("#sign-form").is_hidden()  # a self-held wallet is not signed by the gateway
            sign = page.get_by_role("button", name="Sign with your wallet")
            assert axe_serious(page) == []

            # the browser wallet offers another account: nothing is signed
            wallet.offered = [Account.create().address]
            sign.click()
            page.get_by_text("These terms are for wallet").wait_for(timeout=30_000)
            assert key.address.lower() in page.locator("#sign-status").inner_text().lower()
            assert "eth_signTypedData_v4" not in wallet.requests

            # the document handed to the wallet is not the terms on screen: refused before the wallet is asked
            wallet.offered, wallet.requests = [key.address], []

            def swapped(route: Any) -> None:
                response = route.fetch()
                body = response.json()
                message = body["typed_data"]["message"]
                message["purchasePrice"] = str(int(message["purchasePrice"]) * 10)
                route.fulfill(response=response, json=body)

            page.route("**/typed-data", swapped)
            sign.click()
            page.get_by_text("The document to sign is not the terms on screen: nothing was signed.").wait_for(
                timeout=30_000
            )
            assert wallet.requests == []
            page.unroute("**/typed-data")

            # the same terms for another contract (the domain's verifying contract): refused before the wallet too
            def elsewhere(route: Any) -> None:
                response = route.fetch()
                body = response.json()
                body["typed_data"]["domain"]["verifyingContract"] = Account.create().address
                route.fulfill(response=response, json=body)

            page.route("**/typed-data", elsewhere)
            sign.click()
            page.get_by_text("The document to sign is not for the repo engine on this chain").wait_for(timeout=30_000)
            assert wallet.requests == []  # not even asked for its accounts
            page.unroute("**/typed-data")

            # the browser wallet is on another chain: refused before it is asked for its accounts
            wallet.chain_id, wallet.requests = 1, []
            sign.click()
            page.get_by_text("Your browser wallet is on chain 1, not this network's").wait_for(timeout=30_000)
            assert wallet.requests == ["eth_chainId"]
            wallet.chain_id, wallet.requests = int(env.d.w3.eth.chain_id), []

            sign.click()
            page.get_by_text("Open on chain: repo").wait_for(timeout=90_000)
            assert wallet.requests == ["eth_chainId", "eth_requestAccounts", "eth_signTypedData_v4"]
            trade = env.a_trader.get(f"/v1/trades/{trade_id}").json()
            assert trade["status"] == "open" and trade["buyer"]["signed"], trade
            assert page.locator("#sign-status").inner_text() == f"Open on chain: repo {trade['repo_id']}."
            assert page.locator("#wallet-sign-button").is_hidden()
            page.locator(f'#repos tr[data-id="{trade["repo_id"]}"]').wait_for(timeout=30_000)
            assert errors == []
        finally:
            browser.close()


def _self_held_seller_repo(env: Env, key: Any, tenor_seconds: int) -> int:
    """A repo open on chain whose seller is B's self-held wallet ``key`` (cash and bonds of its own, the engine
    approved) and whose holder is A's custodial wallet."""
    register_self_held(env.b_trader, key.address, key, "seller wallet")
    _fund(env, key)  # cash for the repurchase price's interest
    env.d.send(env.d.deployer, env.d.bond.functions.mint(key.address, 200_000 * 10**BOND_DECIMALS))
    env.d.send(key, env.d.bond.functions.approve(env.engine, 2**256 - 1))
    env.issue_cash(env.a_wallet["address"], "200000")
    wallet_id = next(
        w["id"] for w in env.b_trader.get("/v1/wallets?limit=200").json()["data"] if w["address"] == key.address
    )
    proposed = call(
        env.b_trader,
        "/v1/trades",
        json={
            "role": "seller",
            "wallet_id": wallet_id,
            "counterparty_wallet": env.a_wallet["address"],
            "cash_token": env.cash,
            "collateral_token": env.bond,
            "purchase_price": "100000",
            "collateral_amount": "120000",
            "rate": "0.05",
            "haircut_bps": 200,
            "tenor_seconds": tenor_seconds,
            "min_transfer_amount": "1000",
            "margin_cure_period_seconds": 3600,
            "grace_period_seconds": 3600,
        },
    )
    assert proposed.status_code == 201, proposed.text
    trade_id = proposed.json()["id"]
    doc = env.b_trader.get(f"/v1/trades/{trade_id}/typed-data").json()
    signature = "0x" + bytes(key.sign_typed_data(full_message=doc["typed_data"]).signature).hex()
    assert call(env.b_trader, f"/v1/trades/{trade_id}/signature", json={"signature": signature}).status_code == 200
    step_up(env.a_trader)
    assert call(env.a_trader, f"/v1/trades/{trade_id}/sign").status_code == 200
    return env.wait_open(trade_id)


def test_a_self_held_seller_repurchases_with_a_transaction_its_browser_wallet_sends(served: tuple[Env, str]) -> None:
    env, origin = served
    env.price("98")
    key = Account.create()
    repo_id = _self_held_seller_repo(env, key, tenor_seconds=20)
    wallet = LocalKeyWallet(key, env.d.w3)
    with playwright.sync_playwright() as p:
        browser = launch(p)
        try:
            page, errors = _page_with_wallet(browser, wallet, origin, env.b_trader)
            page.get_by_role("button", name=f"Manage repo {repo_id}").click()
            page.locator("#repo-panel").wait_for(state="visible", timeout=30_000)
            assert "seller" in page.locator("#repo-facts").inner_text()

            # margin posted from the wallet carries the amounts typed, not others the answer slips in
            code = "A fresh code from your authenticator app (margin and repurchase"

            def inflated(route: Any) -> None:
                response = route.fetch()
                body = response.json()
                data = body["transaction"]["data"]
                body["transaction"]["data"] = data[:-64] + f"{10**30:064x}"  # the cash amount: a fortune
                route.fulfill(response=response, json=body)

            page.get_by_label("Cash margin to add").fill("10")
            page.route("**/margin", inflated)
            page.get_by_label(code).fill(env.b_trader.totp_now())
            page.get_by_role("button", name="Post margin").click()
            page.get_by_text(f"The step is not the margin of repo {repo_id} you asked for").wait_for(timeout=30_000)
            page.unroute_all(behavior="wait")
            assert wallet.requests == []
            margin_before = int(repo_state(env.d, repo_id)[18])  # cashMargin
            page.get_by_label(code).fill(env.b_trader.totp_now())
            page.get_by_role("button", name="Post margin").click()
            page.get_by_text("Sent from your wallet: transaction 0x").wait_for(timeout=60_000)
            assert wallet.requests == ["eth_chainId", "eth_sendTransaction"]
            wait_for(lambda: int(repo_state(env.d, repo_id)[18]), lambda m: m == margin_before + 10 * 10**CASH_DECIMALS)
            wallet.requests = []
            page.get_by_label("Cash margin to add").fill("")

            env.d.advance(20)  # the term repo's maturity
            page.get_by_label("A fresh code from your authenticator app (margin and repurchase").fill(
                env.b_trader.totp_now()
            )
            # a step that is not from this side's wallet, or that moves value, is refused before the wallet sees it
            word = f"{repo_id:064x}"
            for field, value, said in (
                ("from", Account.create().address, "The step is not from your wallet"),
                ("value", "0x1", "The step is not a call to the repo engine"),
                ("to", env.cash, "The step is not a call to the repo engine"),  # e.g. an approve() to the token
                # the engine, but another repo's repurchase, or this repo's margin call
                ("data", f"0x64c96f85{repo_id + 1:064x}", f"The step is not the repurchase of repo {repo_id}"),
                ("data", f"0x3f45c158{word}", f"The step is not the repurchase of repo {repo_id}"),
            ):
                page.route("**/repurchase", _tampering("transaction", field, value))
                page.get_by_role("button", name="Repurchase").click()
                page.get_by_text(said).wait_for(timeout=30_000)
                page.unroute("**/repurchase")
            assert wallet.requests == []
            page.get_by_role("button", name="Repurchase").click()
            page.get_by_text("Sent from your wallet: transaction 0x").wait_for(timeout=60_000)
            assert wallet.requests == ["eth_chainId", "eth_sendTransaction"]
            page.locator("#repo-facts dd", has_text="repurchased").first.wait_for(timeout=60_000)  # the stream
            assert env.a_trader.get(f"/v1/repos/{repo_id}").json()["position"]["status"] == "repurchased"
            assert errors == []
        finally:
            browser.close()


def test_a_self_held_seller_signs_a_rerate_and_sends_an_early_repurchase_from_its_browser_wallet(
    served: tuple[Env, str],
) -> None:
    """B's self-held seller wallet signs a re-rate's EIP-712 document in the browser wallet (A's custodial holder
    signs with a code); then B proposes an early repurchase, A consents, and B's "Send" hands the engine's
    transaction to the browser wallet, which sends it."""
    env, origin = served
    env.price("98")
    key = Account.create()
    repo_id = _self_held_seller_repo(env, key, tenor_seconds=3600)
    wallet = LocalKeyWallet(key, env.d.w3)
    code = "A fresh code from your authenticator app (signing and sending"
    with playwright.sync_playwright() as p:
        browser = launch(p)
        try:
            seller, errors = _page_with_wallet(browser, wallet, origin, env.b_trader)
            holder = open_app(browser, origin, errors)
            sign_in(holder, env.a_trader)
            for page in (seller, holder):
                page.get_by_role("button", name=f"Manage repo {repo_id}").click()
                page.get_by_text("No change has been proposed on this repo.").wait_for(timeout=30_000)

            seller.get_by_label("Change", exact=True).select_option("rerate")
            seller.get_by_label("New rate (% a year)").fill("4.5")
            seller.get_by_role("button", name="Propose").click()
            rerate = "Re-rate: 4.5 % a year from now on"
            seller.get_by_role("button", name=f"Sign: {rerate}").wait_for(timeout=30_000)

            # the list answers the same change as another repo's (message and document alike): refused unasked
            def elsewhere(route: Any) -> None:
                response = route.fetch()
                body = response.json()
                for item in body["data"]:
                    item["message"]["repoId"] = item["typed_data"]["message"]["repoId"] = str(repo_id + 1)
                route.fulfill(response=response, json=body)

            listed = f"**/v1/repos/{repo_id}/instructions"
            seller.route(listed, elsewhere)
            with seller.expect_response(listed):
                seller.get_by_role("button", name=f"Manage repo {repo_id}").click()  # the list read again
            with seller.expect_response(listed):  # the step reads the list again after it: done before unrouting
                seller.get_by_role("button", name=f"Sign: {rerate}").click()
            seller.get_by_text("The document to sign is not the instruction on screen: nothing was signed.").wait_for(
                timeout=30_000
            )
            assert wallet.requests == []
            seller.unroute_all(behavior="wait")  # a list read still in the handler finishes first
            with seller.expect_response(listed):
                seller.get_by_role("button", name=f"Manage repo {repo_id}").click()
            seller.get_by_role("button", name=f"Sign: {rerate}").click()  # the browser wallet signs: no code
            seller.get_by_text("Signed: 1 of 2 signatures.").wait_for(timeout=30_000)
            assert wallet.requests == ["eth_chainId", "eth_requestAccounts", "eth_signTypedData_v4"]
            holder.get_by_label(code).fill(env.a_trader.totp_now())
            holder.get_by_role("button", name=f"Sign: {rerate}").click()
            holder.get_by_text("Signed, and on its way to the chain").wait_for(timeout=30_000)
            wait_for(lambda: repo_state(env.d, repo_id), lambda state: int(state[5]) == 45 * 10**15)

            wallet.requests = []
            seller.get_by_label("Change", exact=True).select_option("early")
            seller.get_by_role("button", name="Propose").click()
            early = "Repurchase now, before maturity, at the repurchase price accrued so far"
            holder.get_by_label(code).fill(env.a_trader.totp_now())
            holder.get_by_role("button", name=f"Sign: {early}").click()
            send = seller.get_by_role("button", name=f"Send from your wallet: {early}")
            send.wait_for(timeout=30_000)
            # the first time, B declines in its wallet: the step stays handed out, and Send asks for it again
            wallet.decline_sends = 1
            seller.get_by_label(code).fill(env.b_trader.totp_now())
            send.click()
            seller.get_by_text("the user declined the transaction").wait_for(timeout=60_000)
            seller.locator("#instruction-list li", has_text="handed out · signed 1 of 1").wait_for(timeout=30_000)
            assert repo_state(env.d, repo_id)[8] != 4  # nothing went to the chain
            seller.get_by_label(code).fill(env.b_trader.totp_now())
            send.click()
            seller.get_by_text("Sent from your wallet: transaction 0x").wait_for(timeout=60_000)
            assert wallet.requests == ["eth_chainId", "eth_sendTransaction"] * 2
            wait_for(lambda: repo_state(env.d, repo_id), lambda state: state[8] == 4)  # REPURCHASED
            for page in (seller, holder):
                page.locator("#repo-facts dd", has_text="repurchased").first.wait_for(timeout=60_000)
            # the indexer saw it on chain: submitted, and nothing left to send
            seller.locator("#instruction-list li", has_text="submitted · signed 1 of 1").last.wait_for(timeout=30_000)
            assert seller.get_by_role("button", name=f"Send from your wallet: {early}").count() == 0
            assert errors == []
        finally:
            browser.close()
