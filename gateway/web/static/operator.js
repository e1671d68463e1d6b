// The network operator's view: the chain as the gateway's node sees it (head and its age, QBFT validators, peers,
// the transaction pool), where the contracts are, the gateway's readiness (database, chain, broker), the master keys
// (versions and what is sealed under each), the listed instruments, their prices with the guard rails, and the
// members with their KYC state. Reads only: operator actions stay behind the API's step-up and
// four eyes (the CLI, reponet ops), and nothing here moves a member's asset.
import { request } from "/app/static/api.js";
import { $, element, fillRows as rows } from "/app/static/dom.js";
import * as prices from "/app/static/prices.js";


function facts(listId, pairs) {
  const list = $(listId);
  list.replaceChildren();
  for (const [term, value] of pairs) list.append(element("dt", term), element("dd", value));
}


const shown = (value) => (value === null || value === undefined ? "unavailable" : String(value));

// Readiness answers 503 with its checks when something is down: read the body either way.
async function readiness() {
  const r = await fetch("/readyz");
  return r.json();
}

// The section says it is busy while it reads, so a screen reader (and a test) knows when every part is drawn.
export async function refresh() {
  const section = $("operator");
  if (section.hidden) return;
  section.setAttribute("aria-busy", "true");
  try {
    await draw();
  } finally {
    section.setAttribute("aria-busy", "false");
  }
}

async function draw() {
  const [status, network, ready, instruments, orgs, keys] = await Promise.all([
    request("GET", "/v1/operator/network/status"),
    request("GET", "/v1/network"),
    readiness(),
    request("GET", "/v1/instruments?limit=200"),
    request("GET", "/v1/organizations?limit=200"),
    request("GET", "/v1/operator/keys"),
  ]);
  const pool = status.pool ? `${status.pool.pending} pending, ${status.pool.queued} queued` : "unavailable";
  facts("network-facts", [
    ["Head block", shown(status.head)],
    ["Head age", status.head_age_seconds === null ? "unavailable" : `${status.head_age_seconds} s`],
    ["Validators", status.validators ? `${status.validators.length}: ${status.validators.join(", ")}` : "unavailable"],
    ["Peers", shown(status.peers)],
    ["Transaction pool", pool],
    ["Indexed block", shown(network.indexed_block)],
    ["Chain id", String(network.chain_id)],
    ["Repo engine", shown(network.repo_engine)],
    ["Identity registry", shown(network.identity_registry)],
    ["Price oracle", shown(network.price_oracle)],
    ["Audit anchor", shown(network.audit_anchor)],
    ["Relayer", shown(network.relayer)],
  ]);
  const missing = Object.entries(status.unavailable).map(([name, why]) => `${name}: ${why}`);
  $("network-unavailable").textContent = missing.length ? `Not available from the node: ${missing.join("; ")}` : "";
  $("health-status").textContent = `Gateway ${ready.instance}: ${ready.status}`;
  rows("health", Object.entries(ready.checks), ([name, check]) => [name, check.ok ? "ok" : "failing", check.detail]);
  rows("instruments", instruments.data, (i) => [i.symbol, i.kind, (i.kind === "bond" ? i.isin : i.currency) || "—", String(i.decimals), i.address]);
  const when = (event) => (event ? `v${event.version} at ${event.at} by ${event.actor}` : "never");
  facts("keys-facts", [
    ["Versions in the key file", keys.versions.map((v) => `v${v}`).join(", ")],
    ["Sealing under", `v${keys.current_version}`],
    ["Oldest usable", `v${keys.min_version}`],
    ["Last rotation", when(keys.last_rotation)],
    ["Last retirement", when(keys.last_retirement)],
  ]);
  rows("keys-sealed", keys.sealed, (s) => [`v${s.version}`, String(s.secrets)]);
  await prices.refresh(instruments.data);
  rows("operator-members", orgs.data, (o) => [o.name, o.lei, o.is_operator ? "operator" : "member", o.kyc_status]);
}

// Called once after sign-in with the person's role: operator administrators see this view.
export async function start(role) {
  if (role !== "operator_admin") return;
  $("operator-refresh").addEventListener("click", () =>
    refresh().catch((err) => {
      $("health-status").textContent = err.message;
    }),
  );
  $("operator").hidden = false;
  await refresh().catch((err) => {
    $("health-status").textContent = err.message; // said in the section, not under a hidden sign-in form
  });
}
