// The page: sign-in, then the sections of the person's role; a member's blotter of RFQs, trades and repos refreshed live
// from the WebSocket stream.
import { accessToken, confirmEnrollment, enroll, request, signIn, signOut } from "/app/static/api.js";
import * as approvals from "/app/static/approvals.js";
import * as compliance from "/app/static/compliance.js";
import * as exposure from "/app/static/exposure.js";
import * as operations from "/app/static/operator.js";
import { formatAmount } from "/app/static/money.js";
import * as repo from "/app/static/repo.js";
import * as risk from "/app/static/risk.js";
import * as trader from "/app/static/trader.js";
import { $, element } from "/app/static/dom.js";

let instruments = new Map();
let socket = null;
const OPERATOR_ROLES = new Set(["operator_admin", "compliance_officer"]);

function cell(row, content, className) {
  const td = document.createElement("td");
  if (content instanceof Node) td.append(content);
  else td.textContent = content;
  if (className) td.className = className;
  row.appendChild(td);
}

function fill(tbodyId, rows, columns) {
  const tbody = $(tbodyId);
  tbody.replaceChildren();
  for (const item of rows) {
    const tr = document.createElement("tr");
    tr.dataset.id = String(item.id ?? item.repo_id);
    for (const [text, className] of columns(item)) cell(tr, text, className);
    tbody.appendChild(tr);
  }
}

// A repo of the blotter in the repo panel: its facts, timeline and this member's actions (repo.js).
function manageButton(position) {
  const button = document.createElement("button");
  button.type = "button";
  button.textContent = "Manage";
  button.setAttribute("aria-label", `Manage repo ${position.repo_id}`);
  button.addEventListener("click", () =>
    repo.show(position.repo_id).catch((err) => {
      $("repo-panel").hidden = false; // the error is said where the repo would have been
      $("repo-status").textContent = err.message;
    }),
  );
  return button;
}

// A trade's terms on screen (to read, and to sign when it is this member's turn): any trade of the blotter, not
// only one this page saw accepted (a direct trade, a trade from before this sign-in).
function reviewButton(trade) {
  const button = document.createElement("button");
  button.type = "button";
  button.textContent = "Review";
  button.setAttribute("aria-label", `Review the terms of trade ${trade.id.slice(0, 8)}`);
  button.addEventListener("click", () =>
    trader.showTerms(trade.id).catch((err) => {
      $("trade-terms").hidden = false; // the error is said where the terms would have been
      $("sign-status").textContent = err.message;
    }),
  );
  return button;
}

const money = (value, token) => [formatAmount(value, instruments.get(String(token).toLowerCase())), "amount"];

async function refresh() {
  const [rfqs, trades, repos] = await Promise.all([
    request("GET", "/v1/rfqs"),
    request("GET", "/v1/trades"),
    request("GET", "/v1/positions"),
  ]);
  fill("rfqs", rfqs.data, (r) => [[r.id.slice(0, 8)], [r.status], money(r.purchase_price, r.cash_token), money(r.collateral_amount, r.collateral_token)]);
  fill("trades", trades.data, (t) => [[t.id.slice(0, 8)], [t.status], money(t.purchase_price, t.cash_token), [t.repo_id === null ? "—" : String(t.repo_id)], [reviewButton(t)]]);
  fill("repos", repos.data, (p) => [[String(p.repo_id)], [p.role], [p.status], money(p.purchase_price, p.cash_token), money(p.collateral_amount, p.collateral_token), [manageButton(p)]]);
}

function connect() {
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  $("live").textContent = "connecting…";
  socket = new WebSocket(`${scheme}://${location.host}/v1/stream`);
  socket.addEventListener("open", () => socket.send(JSON.stringify({ token: accessToken() })));
  socket.addEventListener("message", async (message) => {
    const event = JSON.parse(message.data);
    if (event.type === "subscribed") {
      $("live").textContent = "live";
      return;
    }
    const li = document.createElement("li");
    li.textContent = `${event.type}${event.repo_id ? " · repo " + event.repo_id : ""}`;
    $("events").prepend(li);
    await Promise.all([refresh(), trader.onEvent(event), repo.onEvent(event), approvals.onEvent(event), exposure.onEvent(event), risk.onEvent(event)]);
  });
  socket.addEventListener("close", () => {
    $("live").textContent = "disconnected";
  });
}

// What the person sees follows their role as the gateway states it (/v1/me); the gateway still decides every
// request. A member's people trade and approve; the operator's compliance officers review members and the audit,
// its administrators watch the network.
async function show() {
  const me = await request("GET", "/v1/me");
  $("signin").hidden = true;
  $("logout").hidden = false;
  $("logout-everywhere").hidden = false;
  if (OPERATOR_ROLES.has(me.role)) {
    // the stream is a member's (its repos): operator staff refresh by hand
    await Promise.all([compliance.start(me), operations.start(me.role)]);
    return;
  }
  const listed = await request("GET", "/v1/instruments?limit=200");
  instruments = new Map(listed.data.map((i) => [i.address.toLowerCase(), i]));
  $("blotter").hidden = false;
  await Promise.all([refresh(), repo.start(instruments), trader.start(instruments), approvals.start(instruments), exposure.start(instruments), risk.start(instruments)]);
  connect();
}

$("signin-form").addEventListener("submit", async (e) => {
  e.preventDefault();
  $("signin-error").textContent = "";
  try {
    await signIn($("email").value, $("password").value, $("totp").value);
    $("password").value = "";
    $("who").textContent = $("email").value;
    await show();
  } catch (err) {
    $("signin-error").textContent = err.message;
  }
});

for (const [id, everywhere] of [["logout", false], ["logout-everywhere", true]]) {
  $(id).addEventListener("click", async () => {
    if (socket) socket.close();
    await signOut(everywhere);
    location.reload();
  });
}

// First sign-in: the key and recovery codes are shown once, as text (nothing the API returns is parsed as HTML),
// then the first code the app shows confirms the enrolment and signs in.
$("enrol-form").addEventListener("submit", async (e) => {
  e.preventDefault();
  $("enrol-status").textContent = "";
  try {
    const enrolment = await enroll($("enrol-email").value, $("enrol-password").value);
    $("enrol-secret").textContent = enrolment.totp_secret;
    $("enrol-uri").href = enrolment.provisioning_uri.startsWith("otpauth://") ? enrolment.provisioning_uri : "#";
    $("enrol-recovery").replaceChildren(...enrolment.recovery_codes.map((code) => element("li", code)));
    $("enrol-key").hidden = false;
    $("enrol-code").focus();
  } catch (err) {
    $("enrol-status").textContent = err.message;
    $("enrol-status").focus();
  }
});

$("enrol-confirm-form").addEventListener("submit", async (e) => {
  e.preventDefault();
  $("enrol-status").textContent = "";
  try {
    await confirmEnrollment($("enrol-email").value, $("enrol-password").value, $("enrol-code").value.trim());
    $("who").textContent = $("enrol-email").value;
    $("enrol-password").value = "";
    $("enrol-secret").textContent = "";
    $("enrol-recovery").replaceChildren();
    $("enrol-key").hidden = true;
    await show();
  } catch (err) {
    $("enrol-status").textContent = err.message;
    $("enrol-status").focus();
  }
});
