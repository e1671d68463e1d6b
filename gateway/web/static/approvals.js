// The approver's desk: what the member's policy holds back until approvers agree (GET /v1/approvals), with the rule
// that asks and the approvals given; approve, or reject with a reason the requester and the counterparty read.
// Shown only to people the gateway lets approve (the queue answers them); the server decides, not this page: a yes
// of the person who asked is refused there (four eyes), and the button only says so first.
import { request } from "/app/static/api.js";
import { formatAmount } from "/app/static/money.js";
import { $, element } from "/app/static/dom.js";

let instruments = new Map();
let rejecting = null; // the item whose rejection form is open
let rejectedFrom = null; // the button that opened it: the keyboard goes back there
const QUEUE_EVENTS = /^(approval\.|trade\.|instruction\.|rfq\.accepted$)/; // what can change the queue
let working = false; // one decision at a time

const short = (id) => String(id).slice(0, 8);
const path = (item) => `/v1/${item.subject === "trade" ? "trades" : "instructions"}/${item.id}`;

function what(item) {
  if (item.subject === "trade") return `trade ${short(item.id)} (your side: ${item.side})`;
  return `${item.instruction_kind} ${short(item.id)} on repo ${item.repo_id}`;
}

function say(text) {
  $("approvals-status").textContent = text;
  $("approvals-status").focus();
}

async function decide(item, action) {
  if (working) return;
  working = true;
  try {
    await action();
  } catch (err) {
    say(err.message);
  } finally {
    working = false;
  }
  await refresh().catch((err) => say(err.message));
}

// A disabled button cannot take focus: why it is disabled is said in the row's text, and the button points to it.
function approveButton(item, whyId) {
  const button = element("button", "Approve", { type: "button", "aria-label": `Approve ${what(item)}` });
  if (!item.may_approve) {
    button.disabled = true;
    button.setAttribute("aria-describedby", whyId);
  }
  button.addEventListener("click", () =>
    decide(item, async () => {
      await request("POST", `${path(item)}/approvals`);
      say(`Approved ${what(item)}.`);
    }),
  );
  return button;
}

function why(item) {
  if (item.approved_by_me) return "You have approved it.";
  if (!item.may_approve) return "You asked for it: another approver decides.";
  return "";
}

function rejectButton(item) {
  const button = element("button", "Reject…", { type: "button", "aria-label": `Reject ${what(item)}` });
  button.addEventListener("click", () => {
    rejecting = item;
    rejectedFrom = item.id;
    $("reject-title").textContent = `Reject ${what(item)}`;
    $("reject-form").hidden = false;
    $("reject-reason").focus();
  });
  return button;
}

function row(item) {
  const tr = element("tr", undefined, { "data-id": item.id });
  const cash = instruments.get(String(item.cash_token).toLowerCase());
  const quorum = item.quorum_met ? "; enough unless the signer is one of them, waiting for the signature" : "";
  const cells = [
    what(item),
    item.counterparty ? `member ${item.counterparty}` : "not a member here",
    formatAmount(item.notional, cash),
    item.rule,
    `${item.approvals_given} of ${item.approvals_needed}${quorum}`,
  ];
  for (const text of cells) tr.append(element("td", text));
  tr.children[2].className = "amount";
  const actions = element("td");
  const whyId = `approve-why-${item.id}`;
  actions.append(approveButton(item, whyId), " ", rejectButton(item), element("span", ` ${why(item)}`, { id: whyId }));
  tr.append(actions);
  return tr;
}

export async function refresh() {
  if ($("approvals").hidden) return;
  const queue = await request("GET", "/v1/approvals");
  $("approval-rows").replaceChildren(...queue.data.map(row));
  $("approvals-empty").hidden = queue.data.length > 0;
  if (rejecting && !queue.data.some((item) => item.id === rejecting.id)) closeRejection();
}

function closeRejection() {
  const from = rejectedFrom;
  rejecting = null;
  rejectedFrom = null;
  $("reject-form").hidden = true;
  $("reject-reason").value = "";
  const back = from && document.querySelector(`#approval-rows tr[data-id="${from}"] button[aria-label^="Reject"]`);
  if (back) back.focus();
}

async function submitRejection(e) {
  e.preventDefault();
  const item = rejecting;
  if (!item) return;
  const reason = $("reject-reason").value.trim();
  if (reason.length < 3) {
    say("Say why in a few words: the requester and the counterparty read it.");
    return;
  }
  await decide(item, async () => {
    await request("POST", `${path(item)}/rejections`, { reason });
    closeRejection();
    say(`Rejected ${what(item)}: ${reason}`);
  });
}

// Called once after sign-in: the section appears only if the gateway answers the queue for this person.
export async function start(known) {
  instruments = known;
  $("reject-form").addEventListener("submit", submitRejection);
  $("reject-cancel").addEventListener("click", closeRejection);
  $("approvals").hidden = false;
  try {
    await refresh();
  } catch (err) {
    if (err.status === 403) $("approvals").hidden = true; // not an approver: nothing to show
    else say(err.message); // an approver whose queue failed to load: said, and tried again on the next event
  }
}

// Stream events that can change the queue: an acceptance, a held-back signature, a decision, a signature or an
// open (the repo's events), an instruction. Others leave it as it is.
export async function onEvent(event) {
  if (QUEUE_EVENTS.test(event.type) || event.repo_id) await refresh();
}
