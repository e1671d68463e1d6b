// Bond prices as the operator watches them: for each listed bond in each listed cash token, the oracle's price
// history (GET /v1/prices/history) drawn over time, whether the last price is stale, and the guard rails a new
// price meets (the bound on a move before a second operator must confirm, the band for a first price, the oracle's
// maximum age). Posting a price stays behind the API's step-up and four eyes (reponet ops, the API).
import { request } from "/app/static/api.js";
import { lineChart } from "/app/static/charts.js";
import { $, element } from "/app/static/dom.js";

function railsText(history) {
  const r = history.guard_rails;
  const age = r.max_age_seconds === null ? "not followed yet" : `${r.max_age_seconds} s`;
  return (
    `A move over ${r.max_price_move_bps} bps waits for a second operator; a first price outside ` +
    `${r.band_min_percent_of_par}–${r.band_max_percent_of_par} % of par too. Maximum age ${age}.`
  );
}

// One figure per pair: the chart, then its state and guard rails in words.
export async function refresh(instruments) {
  const bonds = instruments.filter((i) => i.kind === "bond");
  const cash = instruments.filter((i) => i.kind === "cash");
  const pairs = bonds.flatMap((b) => cash.map((c) => [b, c]));
  const answers = await Promise.all(
    pairs.map(([b, c]) => request("GET", `/v1/prices/history?${new URLSearchParams({ asset: b.address, quote: c.address, limit: "200" })}`)),
  );
  const blocks = answers.map((history, n) => {
    const [bond, currency] = pairs[n];
    const last = history.data.length ? history.data[history.data.length - 1] : null;
    const state = last === null ? "no price yet" : `last ${last.price_percent_of_par} % of par (block ${last.block})`;
    const block = element("div", undefined, { class: "price-pair" });
    const points = history.data.map((h) => ({ at: Date.parse(h.at), value: Number(h.price_percent_of_par), label: `${h.price_percent_of_par} %` }));
    block.append(
      element("h4", `${bond.symbol} in ${currency.currency || currency.symbol}`),
      element("p", `${state}${history.guard_rails.last_price_stale ? "; stale: the oracle refuses it until a fresh price is posted" : ""}.`),
      element("p", railsText(history)),
      lineChart(`${bond.symbol} price in ${currency.currency || currency.symbol}, percent of par`, [{ name: bond.symbol, points }], "% of par"),
    );
    return block;
  });
  $("prices").replaceChildren(...(blocks.length ? blocks : [element("p", "No bond and cash pair is listed.")]));
}
