// One repo of the member, managed in the page: its state as the indexer has it (GET /v1/repos/{id}: the position and
// its timeline) and what this member's side may do now. The holder calls margin; the seller posts margin (collateral
// and/or cash) and repurchases, each with a fresh TOTP code as the API asks. A custodial wallet's step is queued by
// the gateway and followed to its end (/v1/settlements/{id}/wait); a self-held wallet's comes back as a transaction
// that its browser wallet sends (eth_sendTransaction). The stream's events for the repo refresh it (app.js).
import { request, stepUp } from "/app/static/api.js";
import { formatAmount } from "/app/static/money.js";
import { browserWallet, declined } from "/app/static/wallet.js";

const $ = (id) => document.getElementById(id);
const LIVE = new Set(["open", "margin_called"]);
let instruments = new Map();
let shown = null; // the repo on screen
let renders = 0; // show() calls so far: an answer shows only if no later call began

const money = (value, token) => (value === null ? "—" : formatAmount(value, instruments.get(String(token).toLowerCase())));

function element(tag, text) {
  const node = document.createElement(tag);
  node.textContent = text;
  return node;
}

export async function show(repoId) {
  const render = ++renders;
  const detail = await request("GET", `/v1/repos/${repoId}`);
  if (render !== renders) return;
  const p = detail.position;
  shown = p.repo_id;
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
  $("margin-call-button").hidden = !(p.role === "holder" && p.status === "open");
  $("margin-form").hidden = !seller;
  $("repurchase-button").hidden = !seller;
  $("repo-step-up").hidden = !seller;
  $("repo-panel").hidden = false;
}

// One step on the repo on screen: the API's answer followed to its end, then the repo shown again.
async function act(button, path, body, withStepUp) {
  const repoId = shown;
  const status = $("repo-status");
  status.textContent = "";
  button.disabled = true;
  try {
    if (withStepUp) await stepUp($("repo-totp"), "act on the repo");
    const submitted = await request("POST", `/v1/repos/${repoId}/${path}`, body);
    if (submitted.transaction) {
      const hash = await browserWallet().request({ method: "eth_sendTransaction", params: [submitted.transaction] });
      status.textContent = `Sent from your wallet: transaction ${hash}.`;
    } else {
      status.textContent = "Queued: settling on chain…";
      const done = await request("GET", `/v1/settlements/${submitted.settlement.id}/wait?timeout=60`);
      status.textContent =
        done.status === "final" ? `Done on chain (block ${done.final_block}).` : `Not done: ${done.status}${done.error ? ", " + done.error : ""}.`;
    }
    await show(repoId);
  } catch (err) {
    status.textContent = declined(err) ? "You declined in your wallet: nothing was sent." : err.message;
  } finally {
    button.disabled = false;
    status.focus();
  }
}

export function start(listed) {
  instruments = listed;
  $("margin-call-button").addEventListener("click", (e) => act(e.currentTarget, "margin-call", undefined, false));
  $("repurchase-button").addEventListener("click", (e) => act(e.currentTarget, "repurchase", undefined, true));
  $("margin-form").addEventListener("submit", (e) => {
    e.preventDefault();
    const body = { collateral_amount: $("margin-collateral").value.trim() || "0", cash_amount: $("margin-cash").value.trim() || "0" };
    act(e.currentTarget.querySelector("button"), "margin", body, true);
  });
}

// A stream event: the repo on screen is shown again when the event is about it.
export async function onEvent(event) {
  if (shown !== null && Number(event.repo_id) === shown) await show(shown);
}
