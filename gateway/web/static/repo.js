// One repo of the member, managed in the page: its state as the indexer has it (GET /v1/repos/{id}: the position and
// its timeline) and what this member's side may do now. The holder calls margin, declares a default, closes out a
// defaulted repo and transfers the position; the seller posts margin (collateral and/or cash), takes excess back and
// repurchases; either side gives notice on an open repo. Each step but a margin call and a default asks for a fresh
// TOTP code, as the API does. A custodial wallet's step is queued by
// the gateway and followed to its end (/v1/settlements/{id}/wait); a self-held wallet's comes back as a transaction
// that its browser wallet sends (eth_sendTransaction). The stream's events for the repo refresh it (app.js).
import { request, stepUp } from "/app/static/api.js";
import { formatAmount, fromUnits, toUnits } from "/app/static/money.js";
import { checkedTransaction, declined, uintWord, walletOnChain } from "/app/static/wallet.js";
import { $, element } from "/app/static/dom.js";
import { lineChart, timelineChart } from "/app/static/charts.js";
import * as instructions from "/app/static/instructions.js";

const LIVE = new Set(["open", "margin_called"]);
let instruments = new Map();
let shown = null; // the repo on screen
let shownWallet = null; // this member's wallet on it (its side's address)
let shownTokens = null; // its cash and collateral tokens
let renders = 0; // show() calls so far: an answer shows only if no later call began

const money = (value, token) => (value === null ? "—" : formatAmount(value, instruments.get(String(token).toLowerCase())));

export async function show(repoId) {
  const render = ++renders;
  const detail = await request("GET", `/v1/repos/${repoId}`);
  if (render !== renders) return;
  const p = detail.position;
  if (shown !== p.repo_id) $("repo-status").textContent = ""; // an outcome belongs to the repo it was about
  shown = p.repo_id;
  shownWallet = p.role === "seller" ? p.seller : p.holder;
  shownTokens = { cash: p.cash_token, collateral: p.collateral_token };
  const rows = [
    ["Repo", String(p.repo_id)],
    ["Your side", p.role === "seller" ? "seller (borrowed cash, gave collateral)" : "holder (lent cash, holds collateral)"],
    ["Status", p.status.replaceAll("_", " ")],
    ["Purchase price", money(p.purchase_price, p.cash_token)],
    ["Repurchase price now", money(p.repurchase_price_now, p.cash_token)],
    ["Collateral in escrow", money(p.collateral_amount, p.collateral_token)],
    ["Collateral value after haircut", money(p.collateral_value_after_haircut, p.cash_token)],
    ["Cash margin", money(p.cash_margin, p.cash_token)],
    ["Exposure", money(p.exposure, p.cash_token)],
    ["Margin", p.margin_status ? p.margin_status.replaceAll("_", " ") : "—"],
    ["Maturity", p.maturity ?? "open"],
  ];
  $("repo-facts").replaceChildren(...rows.flatMap(([term, value]) => [element("dt", term), element("dd", value)]));
  $("repo-timeline").replaceChildren(
    ...detail.timeline.map((e) => element("li", `${e.type.replace("repo.", "")} · block ${e.block_number} · ${e.at}`)),
  );
  $("repo-title").textContent = `Repo ${p.repo_id}`;
  const seller = p.role === "seller" && LIVE.has(p.status);
  const holder = p.role === "holder" && LIVE.has(p.status);
  $("margin-call-button").hidden = !(p.role === "holder" && p.status === "open");
  $("margin-form").hidden = !seller;
  $("repurchase-button").hidden = !seller;
  $("withdraw-form").hidden = !(p.role === "seller" && p.status === "open");
  $("terminate-button").hidden = !(LIVE.has(p.status) && p.maturity === null); // an open repo without notice yet
  $("default-button").hidden = !holder;
  $("transfer-form").hidden = !holder;
  const closing = p.role === "holder" && p.status === "defaulted";
  $("close-out-button").hidden = !closing;
  $("repo-step-up").hidden = !(seller || holder || closing || !$("terminate-button").hidden);
  $("repo-panel").hidden = false;
  await instructions.show(p);
  await pictures(p, detail.timeline, render); // after the facts and actions: they never wait for a chart
}

// The repo's life on one line (open to maturity, or to now while it is open-ended), its collateral's price
// history in its cash token, as the oracle had it (GET /v1/prices/history), and to its holder the exposure over time.
async function pictures(p, timeline, render) {
  const opened = Date.parse(p.opened_at);
  const end = p.maturity ? Date.parse(p.maturity) : Date.now();
  const events = timeline.map((e) => ({ at: Date.parse(e.at), label: e.type.replace("repo.", "").replace(/^Repo/, "") }));
  const life = timelineChart(`Repo ${p.repo_id} from open to ${p.maturity ? "maturity" : "now"}`, opened, end, events);
  let prices;
  try {
    const query = new URLSearchParams({ asset: p.collateral_token, quote: p.cash_token, limit: "200" });
    const history = await request("GET", `/v1/prices/history?${query}`);
    const bond = instruments.get(String(p.collateral_token).toLowerCase());
    const points = history.data.map((h) => ({ at: Date.parse(h.at), value: Number(h.price_percent_of_par), label: `${h.price_percent_of_par} %` }));
    const name = bond ? bond.symbol : "collateral";
    prices = lineChart(`${name} price, percent of par${history.guard_rails.last_price_stale ? " (the last price is stale)" : ""}`, [{ name, points }], "% of par");
  } catch (err) {
    prices = element("p", `Price history: ${err.message}`);
  }
  const exposure = await exposureChart(p);
  if (render === renders) $("repo-pictures").replaceChildren(life, prices, ...(exposure ? [exposure] : []));
}

// The holder's exposure on the repo as the risk service valued it each minute (GET /v1/risk/repos/{id}/exposure/
// history), in the repo's cash token; the seller has none to watch: the exposure is the lender's.
async function exposureChart(p) {
  if (p.role !== "holder") return null;
  try {
    const history = await request("GET", `/v1/risk/repos/${p.repo_id}/exposure/history?bucket_seconds=60`);
    const cash = instruments.get(String(p.cash_token).toLowerCase());
    const unit = cash ? cash.currency || cash.symbol : "smallest units";
    const points = history.data.map((h) => {
      const amount = cash ? fromUnits(h.exposure_units, cash.decimals) : h.exposure_units;
      return { at: Date.parse(h.at), value: Number(amount), label: cash ? formatAmount(amount, cash) : `${h.exposure_units} units` };
    });
    return lineChart(`Your exposure on repo ${p.repo_id}, last day (${unit})`, [{ name: "exposure", points }], "exposure");
  } catch (err) {
    return element("p", `Exposure history: ${err.message}`);
  }
}

const ACTIONS = [
  "margin-call-button", "repurchase-button", "margin-submit", "withdraw-submit", "terminate-button", "default-button",
  "close-out-button", "transfer-submit",
];

// One step on the repo on screen: the API's answer followed to its end, then the repo shown again. One step at a
// time (every action waits), and its outcome is said only while the same repo is on screen.
// The amounts a margin or withdrawal step must carry, as typed (collateralAmount, cashAmount after the repo id).
function amountWords(path, body, tokens) {
  if (path !== "margin" && path !== "withdraw-excess") return {};
  const units = (value, token) => {
    const instrument = instruments.get(String(token).toLowerCase());
    if (!instrument) throw new Error(`The token ${token} is not listed: its amount cannot be checked. Nothing was sent.`);
    return uintWord(toUnits(value, instrument.decimals));
  };
  return { 1: units(body.collateral_amount, tokens.collateral), 2: units(body.cash_amount, tokens.cash) };
}

async function act(path, body, withStepUp) {
  const repoId = shown;
  const wallet = shownWallet;
  const tokens = shownTokens;
  const status = $("repo-status");
  const say = (text) => {
    if (shown === repoId) status.textContent = text;
  };
  status.textContent = "";
  for (const id of ACTIONS) $(id).disabled = true;
  try {
    if (withStepUp) await stepUp($("repo-totp"), "act on the repo");
    const submitted = await request("POST", `/v1/repos/${repoId}/${path}`, body);
    if (submitted.transaction) {
      const words = amountWords(path, body, tokens);
      const tx = await checkedTransaction(submitted.transaction, wallet, { step: path, repoId, to: body?.to_wallet, words });
      const hash = await (await walletOnChain()).request({ method: "eth_sendTransaction", params: [tx] });
      say(`Sent from your wallet: transaction ${hash}. The repo shows it once it is in a block.`);
    } else {
      say("Queued: settling on chain…");
      const done = await request("GET", `/v1/settlements/${submitted.settlement.id}/wait?timeout=60`);
      say(done.status === "final" ? `Done on chain (block ${done.final_block}).` : `Not done: ${done.status}${done.error ? ", " + done.error : ""}.`);
    }
    if (shown === repoId) await show(repoId);
  } catch (err) {
    say(declined(err) ? "You declined in your wallet: nothing was sent." : err.message);
  } finally {
    for (const id of ACTIONS) $(id).disabled = false;
    if (shown === repoId) status.focus();
  }
}

export async function start(listed) {
  instruments = listed;
  $("margin-call-button").addEventListener("click", () => act("margin-call", undefined, false));
  $("repurchase-button").addEventListener("click", () => act("repurchase", undefined, true));
  $("margin-form").addEventListener("submit", (e) => {
    e.preventDefault();
    const body = { collateral_amount: $("margin-collateral").value.trim() || "0", cash_amount: $("margin-cash").value.trim() || "0" };
    act("margin", body, true);
  });
  $("withdraw-form").addEventListener("submit", (e) => {
    e.preventDefault();
    const body = { collateral_amount: $("withdraw-collateral").value.trim() || "0", cash_amount: $("withdraw-cash").value.trim() || "0" };
    act("withdraw-excess", body, true);
  });
  $("terminate-button").addEventListener("click", () => act("terminate", undefined, true));
  $("default-button").addEventListener("click", () => act("default", undefined, false));
  $("close-out-button").addEventListener("click", () => act("close-out", undefined, true));
  $("transfer-form").addEventListener("submit", (e) => {
    e.preventDefault();
    act("position-transfer", { to_wallet: $("transfer-to").value.trim() }, true);
  });
  await instructions.start(listed);
}

// A stream event: the repo on screen is shown again when the event is about it (a chain event); an instruction's
// event reads the repo's instructions again.
export async function onEvent(event) {
  if (shown !== null && Number(event.repo_id) === shown) await show(shown);
  else await instructions.onEvent(event);
}
