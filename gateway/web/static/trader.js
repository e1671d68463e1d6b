// The trader's first actions: ask a named counterparty for a repo (RFQ), quote an RFQ addressed to us, accept a
// quote, read the resulting trade's terms in words before anyone signs, then sign them with the member's custodial
// wallet (a fresh TOTP code first) or a self-held one (the browser wallet, an injected EIP-1193 provider) and follow
// the settlement until the repo is open on chain. Only the gateway's own routes (/v1/rfqs, /v1/trades, /v1/wallets,
// /v1/me, /v1/auth/step-up, /v1/settlements/{id}/wait); the stream's rfq/quote/trade events trigger the refreshes
// from app.js.
// Rows are kept by id across refreshes so that a form being typed into is never replaced under the user's hands.
import { request, stepUp } from "/app/static/api.js";
import { formatAmount } from "/app/static/money.js";
import * as allowances from "/app/static/allowances.js";
import { browserWallet, checkDocument, declined, onChain, utf8Hex } from "/app/static/wallet.js";
import { $, element } from "/app/static/dom.js";

let me = null;
let instruments = new Map();
let wallets = [];
let shownTrade = null; // the trade whose terms are on screen
let shownStatus = null;
let shownDigest = null; // the EIP-712 digest of the terms on screen: a wallet signs those or nothing
let renders = 0; // showTerms calls so far: an answer shows only if no later call began
let following = null; // the trade whose settlement is being waited for
const lastFollow = new Map(); // trade id -> when its last wait began
const SETTLING = new Set(["settling", "cancelling"]);
const UNSETTLED = new Set(["pending_signatures", ...SETTLING]);

const instrument = (address) => instruments.get(String(address).toLowerCase());
const money = (value, token) => formatAmount(value, instrument(token));

function options(select, items, label) {
  select.replaceChildren(...items.map((item) => element("option", label(item), { value: item.value })));
}

// "3.5" (per cent a year) -> "0.035" (the API's fraction), by moving the decimal point: no float touches a rate.
export function percentToFraction(percent) {
  const text = String(percent).trim();
  if (!/^-?[0-9]{1,4}(\.[0-9]{1,16})?$/.test(text)) throw new Error("rate: a number of per cent, e.g. 3.5");
  const negative = text.startsWith("-");
  const [whole, fraction = ""] = text.replace("-", "").split(".");
  const digits = whole.padStart(3, "0");
  const joined = `${digits.slice(0, -2)}.${digits.slice(-2)}${fraction}`.replace(/^0+(?=\d)/, "");
  return `${negative ? "-" : ""}${joined}`;
}

function describeRfq(rfq) {
  const tenor = rfq.tenor_seconds === null ? "open" : `${rfq.tenor_seconds / 86400} days`;
  return `borrow ${money(rfq.purchase_price, rfq.cash_token)} against ${money(rfq.collateral_amount, rfq.collateral_token)}, tenor ${tenor}`;
}

function incomingRow(rfq) {
  const li = element("li", undefined, { "data-rfq": rfq.id });
  li.append(element("p", `RFQ ${rfq.id.slice(0, 8)} from member ${rfq.organization_id}: ${describeRfq(rfq)}`));
  const status = element("p", "", { class: "status" });
  const form = element("form", undefined, { "aria-label": `Quote RFQ ${rfq.id.slice(0, 8)}` });
  const wallet = element("select", undefined, { id: `quote-wallet-${rfq.id}`, required: "" });
  options(wallet, wallets, (w) => `${w.label} (${w.address.slice(0, 10)}…)`);
  const rate = element("input", undefined, { id: `quote-rate-${rfq.id}`, inputmode: "decimal", required: "" });
  const haircut = element("input", undefined, { id: `quote-haircut-${rfq.id}`, inputmode: "numeric", required: "" });
  form.append(
    element("label", "Lending wallet", { for: wallet.id }), wallet,
    element("label", "Rate (% a year)", { for: rate.id }), rate,
    element("label", "Haircut (basis points)", { for: haircut.id }), haircut,
    element("button", "Send quote", { type: "submit" }),
  );
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    status.textContent = "";
    try {
      const body = { buyer_wallet_id: wallet.value, rate: percentToFraction(rate.value), haircut_bps: Number(haircut.value) };
      const quote = await request("POST", `/v1/rfqs/${rfq.id}/quotes`, body);
      status.textContent = `Quote sent: ${rateText(quote.rate_fraction)}, haircut ${quote.haircut_bps} bp`;
    } catch (err) {
      status.textContent = err.message;
    }
  });
  li.append(form, status);
  return li;
}

function rateText(fraction) {
  const [whole, decimals = ""] = String(fraction).replace("-", "").split(".");
  const padded = (decimals + "00").split("");
  const percent = `${whole}${padded.slice(0, 2).join("")}`.replace(/^0+(?=\d)/, "");
  const rest = padded.slice(2).join("").replace(/0+$/, "");
  return `${String(fraction).startsWith("-") ? "-" : ""}${percent}${rest ? "." + rest : ""} % a year`;
}

function ownRow(rfq) {
  const li = element("li", undefined, { "data-rfq": rfq.id });
  li.append(element("p", `RFQ ${rfq.id.slice(0, 8)}: ${describeRfq(rfq)}`), element("ul", undefined, { class: "quotes" }));
  return li;
}

function fillQuotes(li, rfq) {
  const list = li.querySelector("ul.quotes");
  const shown = new Set([...list.children].map((q) => q.dataset.quote));
  for (const quote of rfq.quotes) {
    if (shown.has(quote.id)) continue;
    const item = element("li", `Quote from member ${quote.organization_id}: ${rateText(quote.rate_fraction)}, haircut ${quote.haircut_bps} bp `, {
      "data-quote": quote.id,
    });
    const accept = element("button", "Accept quote", { type: "button" });
    accept.addEventListener("click", async () => {
      try {
        const trade = await request("POST", `/v1/rfqs/${rfq.id}/accept`, { quote_id: quote.id });
        await showTerms(trade.id);
      } catch (err) {
        $("rfq-status").textContent = err.message;
      }
    });
    item.append(accept);
    list.append(item);
  }
  for (const button of list.querySelectorAll("button")) button.disabled = rfq.status !== "open";
}

function keep(listId, rows, make, update) {
  const list = $(listId);
  const wanted = new Set(rows.map((r) => r.id));
  for (const child of [...list.children]) if (!wanted.has(child.dataset.rfq)) child.remove();
  for (const rfq of rows) {
    let li = list.querySelector(`li[data-rfq="${rfq.id}"]`);
    if (!li) {
      li = make(rfq);
      list.append(li);
    }
    if (update) update(li, rfq);
  }
}

export async function refresh() {
  const rfqs = (await request("GET", "/v1/rfqs?status=open")).data;
  keep("incoming-rfqs", rfqs.filter((r) => r.organization_id !== me.organization_id), incomingRow);
  keep("own-rfqs", rfqs.filter((r) => r.organization_id === me.organization_id), ownRow, fillQuotes);
}

// The trade's economic terms in words, as the API states them (amounts in the instrument's currency and decimals),
// shown before any signature is asked for. Several may be asked for at once (stream events, the settlement's
// wait, a signature): only the answer to the latest is shown, so an older answer never brings back a stale state.
export async function showTerms(tradeId) {
  const render = ++renders;
  const t = await request("GET", `/v1/trades/${tradeId}`);
  if (render !== renders) return;
  const rows = [
    ["Trade", t.id],
    ["Status", t.status.replaceAll("_", " ")],
    ["Seller (borrows cash, gives collateral)", `${t.seller.wallet} · member ${t.seller.organization_id}`],
    ["Buyer (lends cash, holds collateral)", `${t.buyer.wallet} · member ${t.buyer.organization_id}`],
    ["Purchase price", money(t.purchase_price, t.cash_token)],
    ["Collateral", `${money(t.collateral_amount, t.collateral_token)}${instrument(t.collateral_token)?.isin ? " · ISIN " + instrument(t.collateral_token).isin : ""}`],
    ["Rate", rateText(t.rate_fraction)],
    ["Haircut", `${t.haircut_bps} bp`],
    ["Start", t.start_time],
    ["Maturity", t.maturity ?? "open"],
    ["Sign by", t.deadline],
  ];
  const signed = (side) => (side.signed ? "signed" : `not yet signed (${side.wallet_kind.replace("_", "-")} wallet)`);
  rows.push(["Seller's signature", signed(t.seller)], ["Buyer's signature", signed(t.buyer)]);
  if (t.rejection_reason) rows.push(["Rejected by an approver", t.rejection_reason]);
  if (t.repo_id !== null) rows.push(["Repo on chain", String(t.repo_id)]);
  const dl = $("trade-terms-list");
  dl.replaceChildren();
  for (const [term, value] of rows) dl.append(element("dt", term), element("dd", value));
  const form = $("sign-form");
  if (form.dataset.trade !== t.id) $("sign-totp").value = ""; // a code typed for other terms is not used for these
  form.dataset.trade = t.id; // what the form signs: the terms on screen, never a trade shown later
  form.dataset.digest = t.digest;
  shownTrade = t.id;
  shownStatus = t.status;
  shownDigest = t.digest;
  const side = ownSide(t);
  const toSign = Boolean(side && t.status === "pending_signatures" && !side.signed);
  form.hidden = !(toSign && side.wallet_kind === "custodial");
  $("wallet-sign").hidden = !(toSign && side.wallet_kind !== "custodial");
  $("wallet-sign-button").dataset.trade = t.id;
  $("sign-status").textContent = side ? signingState(t, side) : "";
  $("trade-terms").hidden = false;
  if (SETTLING.has(t.status) && t.settlement_id) {
    followSettlement(t).catch((err) => {
      if (shownTrade === t.id) $("sign-status").textContent = err.message;
    });
  }
}

// This member's side of the trade; null when it is not a party.
const ownSide = (t) => [t.seller, t.buyer].find((s) => s.organization_id === me.organization_id) ?? null;

// Where the signatures stand, from this member's side.
function signingState(t, side) {
  if (t.status === "open") return `Open on chain: repo ${t.repo_id}.`;
  if (t.status === "settling") return "Both parties signed: settling on chain…";
  if (t.status === "cancelling") return "The open failed on chain: its signatures are being cancelled…";
  if (t.status !== "pending_signatures") return `The trade is ${t.status.replaceAll("_", " ")}.`;
  if (side.signed) return "You signed; waiting for the counterparty's signature.";
  if (side.wallet_kind !== "custodial") return `Your wallet ${side.wallet} is self-held: sign these terms with it.`;
  return "";
}

// Both signed (or the open failed and is being undone): wait until the settlement is final or failed (the gateway's
// long poll), then show the outcome. One wait at a time, and at most one a second for the same trade.
async function followSettlement(t) {
  if (following === t.id) return;
  following = t.id;
  try {
    const since = Date.now() - (lastFollow.get(t.id) ?? 0);
    if (since < 1000) await new Promise((resolve) => setTimeout(resolve, 1000 - since));
    lastFollow.set(t.id, Date.now());
    await request("GET", `/v1/settlements/${t.settlement_id}/wait?timeout=60`);
  } finally {
    if (following === t.id) following = null;
  }
  if (shownTrade === t.id) await showTerms(t.id);
}

// Custodial signing: a fresh TOTP code (step-up) unless the last one is still valid, then the gateway signs the
// terms on screen with the member's wallet, subject to its policy; what the policy asks for (approvals) is said.
async function signShown(e) {
  e.preventDefault();
  const form = $("sign-form");
  const tradeId = form.dataset.trade;
  const button = form.querySelector("button");
  $("sign-status").textContent = "";
  button.disabled = true;
  try {
    await stepUp($("sign-totp"), "sign");
    // the digest of the terms on screen: the gateway refuses (terms-changed) if they are other terms by now
    const result = await request("POST", `/v1/trades/${tradeId}/sign`, { digest: form.dataset.digest });
    await showTerms(result.trade.id);
    if (result.policy.approvals > 0) {
      const rule = result.policy.rule ? ` (rule ${result.policy.rule})` : "";
      $("sign-status").textContent += ` The policy asks for ${result.policy.approvals} approval(s)${rule}.`;
    }
  } catch (err) {
    $("sign-status").textContent = err.message;
  } finally {
    button.disabled = false;
    $("sign-status").focus(); // the form may be gone: the outcome is where the focus goes
  }
}

// Whether the EIP-712 document the gateway hands the wallet is exactly the terms on screen: the same digest, the
// same RepoTerms fields with the same values. Anything else is refused before the wallet is asked.
export function documentMatches(doc, t) {
  const message = doc?.typed_data?.message ?? {};
  const fields = Object.keys(t.terms);
  const same = (a, b) => (/^0x[0-9a-fA-F]{40}$/.test(String(a)) ? String(a).toLowerCase() === String(b).toLowerCase() : String(a) === String(b));
  return (
    doc?.primary_type === "RepoTerms" &&
    doc?.typed_data?.primaryType === "RepoTerms" &&
    doc.digest === t.digest &&
    fields.length === Object.keys(message).length &&
    fields.every((k) => k in message && same(message[k], t.terms[k]))
  );
}

// Sign-In with Ethereum: the browser wallet's account signs the gateway's EIP-4361 challenge (personal_sign), and
// with a fresh TOTP code the gateway registers it as a self-held wallet of this member (on chain too). The wallet
// lists are read again so that the new wallet can quote and ask for repos at once.
async function linkWallet(e) {
  e.preventDefault();
  const button = $("link-form").querySelector("button");
  $("link-status").textContent = "";
  button.disabled = true;
  try {
    const provider = browserWallet();
    await stepUp($("link-totp"), "link a wallet"); // before the wallet is asked: a missing code fails first
    const [address] = (await provider.request({ method: "eth_requestAccounts" })) ?? [];
    if (!address) throw new Error("Your browser wallet offered no account.");
    const challenge = await request("POST", "/v1/wallets/siwe/challenge", { address, label: $("link-label").value.trim() });
    const signature = await provider.request({ method: "personal_sign", params: [utf8Hex(challenge.message), address] });
    const wallet = await request("POST", "/v1/wallets/siwe/verify", { message: challenge.message, signature });
    $("link-status").textContent = `Linked: ${wallet.label} (${wallet.address}), a self-held wallet of your member.`;
    await loadWallets();
  } catch (err) {
    $("link-status").textContent = declined(err) ? "You declined in your wallet: nothing was linked." : err.message;
  } finally {
    button.disabled = false;
    $("link-status").focus();
  }
}

// Self-held signing: the browser wallet (window.ethereum, EIP-1193) signs the terms on screen with the trade's
// wallet (eth_signTypedData_v4), and the gateway checks the signature against that wallet before it counts. The
// terms are read again first: if they changed since they were shown (a retry gives fresh ones), they are shown
// again and nothing is signed.
async function signWithWallet() {
  const button = $("wallet-sign-button");
  const tradeId = button.dataset.trade;
  $("sign-status").textContent = "";
  button.disabled = true;
  try {
    const provider = browserWallet();
    const t = await request("GET", `/v1/trades/${tradeId}`);
    const side = ownSide(t);
    if (tradeId !== shownTrade || t.digest !== shownDigest || !side || side.signed || t.status !== "pending_signatures") {
      await showTerms(tradeId);
      $("sign-status").textContent = "The terms changed since you read them: review them again before signing.";
      return;
    }
    const doc = await request("GET", `/v1/trades/${tradeId}/typed-data`);
    if (!documentMatches(doc, t)) throw new Error("The document to sign is not the terms on screen: nothing was signed.");
    await checkDocument(doc.typed_data, "RepoTerms");
    await onChain(provider);
    const accounts = await provider.request({ method: "eth_requestAccounts" });
    const account = (accounts ?? []).find((a) => String(a).toLowerCase() === side.wallet.toLowerCase());
    if (!account) {
      throw new Error(`These terms are for wallet ${side.wallet}; your browser wallet offers ${(accounts ?? []).join(", ") || "no account"}. Switch to that account.`);
    }
    const signature = await provider.request({ method: "eth_signTypedData_v4", params: [account, JSON.stringify(doc.typed_data)] });
    if (shownTrade !== tradeId || shownDigest !== t.digest) {
      // other terms came on screen while the wallet asked: what was signed is not what is shown, so it is dropped
      $("sign-status").textContent = "Other terms are on screen now: that signature was not sent.";
      return;
    }
    await request("POST", `/v1/trades/${tradeId}/signature`, { signature });
    await showTerms(tradeId);
  } catch (err) {
    $("sign-status").textContent = declined(err) ? "You declined in your wallet: nothing was signed." : err.message;
  } finally {
    button.disabled = false;
    $("sign-status").focus();
  }
}

// The member's wallets, into the RFQ form's choice (quote forms made from now on offer them too).
async function loadWallets() {
  wallets = (await request("GET", "/v1/wallets?limit=200")).data.map((w) => ({ ...w, value: w.id }));
  options($("rfq-wallet"), wallets, (w) => `${w.label} (${w.address.slice(0, 10)}…)`);
  allowances.show(instruments, wallets);
}

export async function start(listed) {
  instruments = listed;
  [me] = await Promise.all([request("GET", "/v1/me"), loadWallets()]);
  $("my-member").textContent = me.organization_id;
  const all = [...instruments.values()];
  options($("rfq-cash"), all.filter((i) => i.kind === "cash").map((i) => ({ ...i, value: i.address })), (i) => `${i.symbol} (${i.currency})`);
  options($("rfq-collateral"), all.filter((i) => i.kind !== "cash").map((i) => ({ ...i, value: i.address })), (i) => `${i.symbol}${i.isin ? " · " + i.isin : ""}`);
  $("rfq-form").addEventListener("submit", async (e) => {
    e.preventDefault();
    $("rfq-status").textContent = "";
    try {
      const body = {
        seller_wallet_id: $("rfq-wallet").value,
        cash_token: $("rfq-cash").value,
        collateral_token: $("rfq-collateral").value,
        purchase_price: $("rfq-price").value.trim(),
        collateral_amount: $("rfq-collateral-amount").value.trim(),
        tenor_seconds: Math.round(Number($("rfq-tenor").value) * 86400),
        lenders: [$("rfq-counterparty").value.trim()],
      };
      const rfq = await request("POST", "/v1/rfqs", body);
      $("rfq-status").textContent = `RFQ ${rfq.id.slice(0, 8)} sent: ${describeRfq(rfq)}`;
      await refresh();
    } catch (err) {
      $("rfq-status").textContent = err.message;
    }
  });
  $("sign-form").addEventListener("submit", signShown);
  $("wallet-sign-button").addEventListener("click", signWithWallet);
  $("link-form").addEventListener("submit", linkWallet);
  allowances.start();
  $("trader").hidden = false;
  await refresh();
}

// A stream event from app.js: RFQs and quotes change the lists; an acceptance shows both parties the trade's terms;
// while the trade on screen is unsettled, any event shows it again (the counterparty's signature reaches this
// member's stream only as the repo's own events).
export async function onEvent(event) {
  if (shownTrade && UNSETTLED.has(shownStatus)) {
    try {
      await showTerms(shownTrade); // a signature, an approval, the repo opened
    } catch (err) {
      $("sign-status").textContent = err.message;
    }
  }
  if (!["rfq.created", "quote.submitted", "rfq.accepted", "quote.expired"].includes(event.type)) return;
  await refresh();
  if (event.type === "rfq.accepted" && event.data && event.data.trade_id) await showTerms(event.data.trade_id);
}
