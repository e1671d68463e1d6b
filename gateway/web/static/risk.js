// The member's risk in the trader's page: where its live book is concentrated (GET /v1/risk/concentration: the
// collateral value per issuer, and the net exposure per counterparty, each per cash token with its share of the
// token's total), and what the risk service told the member (GET /v1/risk/notices: reminders, lapsed calls,
// offers). Read again when a repo or the risk service changes something (the stream's repo and risk events).
import { request } from "/app/static/api.js";
import { $, fillRows as rows } from "/app/static/dom.js";
import { formatAmount } from "/app/static/money.js";

let instruments = new Map();
let loads = 0;

const cash = (token) => instruments.get(String(token).toLowerCase());
const share = (bps) => `${(bps / 100).toFixed(2)} %`;
const counterparty = (key) => `member ${String(key).slice(0, 8)}`;


export async function refresh() {
  const load = ++loads;
  const [book, notices] = await Promise.all([
    request("GET", "/v1/risk/concentration"),
    request("GET", "/v1/risk/notices"),
  ]);
  if (load !== loads) return;
  const money = (value, token) => formatAmount(value, cash(token));
  rows("risk-counterparties", book.by_counterparty, (b) => [
    counterparty(b.key), b.role, String(b.repos), money(b.collateral_value, b.cash_token), money(b.exposure, b.cash_token), share(b.share_bps),
  ]);
  rows("risk-issuers", book.by_issuer, (b) => [b.key, b.role, String(b.repos), money(b.collateral_value, b.cash_token), share(b.share_bps)]);
  $("risk-unpriced").textContent = book.unpriced
    ? `${book.unpriced} live repo(s) left out: their collateral has no fresh price.`
    : "";
  $("risk-empty").hidden = book.by_counterparty.length > 0;
  rows("risk-notices", notices.data.slice(0, 20), (n) => [
    String(n.created_at).replace("T", " ").slice(0, 19), String(n.repo_id), n.kind.replaceAll("_", " "),
    Object.entries(n.detail).map(([k, v]) => `${k.replaceAll("_", " ")}: ${v}`).join(", "),
  ]);
  $("risk-notices-empty").hidden = notices.data.length > 0;
}

export async function start(listed) {
  instruments = listed;
  await refresh().catch((err) => {
    $("risk-unpriced").textContent = `Risk: ${err.message}`;
  });
}

export async function onEvent(event) {
  if (event.repo_id || String(event.type).startsWith("risk.")) await refresh();
}
