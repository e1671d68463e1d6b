// The member's net exposure to each counterparty over the last day, as the risk service valued it (one point per
// minute, GET /v1/risk/exposure/history): positive when the member, as lender, holds less collateral than it is owed.
// Each counterparty's line is in its effective agreement's base currency (a cash token, GET /v1/risk/agreements),
// shown with that token's decimals and currency; a pair without one is shown in smallest units. Redrawn when the stream says the risk
// service has revalued (risk.exposure).
import { request } from "/app/static/api.js";
import { lineChart } from "/app/static/charts.js";
import { $, element } from "/app/static/dom.js";
import { formatAmount, fromUnits } from "/app/static/money.js";

let instruments = new Map();

const cashOf = (token) => (token ? instruments.get(token.toLowerCase()) ?? null : null);

export async function refresh() {
  const [history, agreements] = await Promise.all([
    request("GET", "/v1/risk/exposure/history?bucket_seconds=60"),
    request("GET", "/v1/risk/agreements?status=effective"),
  ]);
  const currencyWith = new Map();
  for (const a of agreements.data) {
    currencyWith.set(a.member_a, a.base_currency);
    currencyWith.set(a.member_b, a.base_currency);
  }
  const series = new Map();
  for (const point of history.data) {
    const cash = cashOf(currencyWith.get(point.counterparty_id));
    if (!series.has(point.counterparty_id)) {
      const unit = cash ? cash.currency || cash.symbol : "smallest units";
      series.set(point.counterparty_id, { name: `member ${point.counterparty_id.slice(0, 8)} (${unit})`, points: [] });
    }
    const amount = cash ? fromUnits(point.net_units, cash.decimals) : point.net_units;
    series.get(point.counterparty_id).points.push({
      at: Date.parse(point.at),
      value: Number(amount),
      label: cash ? formatAmount(amount, cash) : `${point.net_units} units`,
    });
  }
  const chart = lineChart("Net exposure by counterparty, last day", [...series.values()], "net exposure");
  $("exposure-chart").replaceChildren(chart);
}

export async function start(listed) {
  instruments = listed;
  await refresh().catch((err) => $("exposure-chart").replaceChildren(element("p", `Exposure: ${err.message}`)));
}

export async function onEvent(event) {
  if (event.type === "risk.exposure") await refresh();
}
