// The compliance officer's desk: KYC applications waiting for a decision with their screening hits (clear a hit as a
// false positive or confirm it; approve or reject the application with a note), every member's KYC state with
// freeze, unfreeze and revoke (each with its reason), surveillance alerts and cases (surveillance.js), and the audit
// trail with its verification against the chain.
// Decisions and member actions ask for a fresh TOTP code (the gateway's step-up); four eyes are the gateway's: it
// refuses a decision by the person who submitted the application, and this page says what it answered.
import { request, stepUp } from "/app/static/api.js";
import { $, element } from "/app/static/dom.js";
import * as surveillance from "/app/static/surveillance.js";

const WAITING = ["screening_hits", "pending_review"];
const ACTIONS = { freeze: "Freeze", unfreeze: "Unfreeze", revoke: "Revoke" };
let working = false; // one decision at a time

function say(text) {
  $("compliance-status").textContent = text;
  $("compliance-status").focus();
}

async function act(action) {
  if (working) return;
  working = true;
  try {
    say(await action());
  } catch (err) {
    say(err.message);
  } finally {
    working = false;
  }
  await refresh().catch((err) => say(err.message));
}

function button(text, label, onClick) {
  const node = element("button", text, { type: "button", "aria-label": label });
  node.addEventListener("click", onClick);
  return node;
}

function hitItem(application, hit) {
  const li = element("li", `${hit.screened_name} ↔ ${hit.listed_name} (list entry ${hit.list_entry_id}, score ${hit.score.toFixed(2)})`);
  if (hit.decision) {
    li.append(element("span", ` — ${hit.decision.replace("_", " ")}`));
    return li;
  }
  const decide = (decision, words) =>
    act(async () => {
      await request("POST", `/v1/kyc/applications/${application.id}/hits/${hit.id}/decision`, { decision });
      return `${hit.screened_name}: ${words}.`;
    });
  li.append(
    " ",
    button("False positive", `${hit.screened_name} is a false positive`, () => decide("false_positive", "cleared as a false positive")),
    " ",
    button("True match", `${hit.screened_name} is a true match`, () => decide("true_match", "confirmed as a true match")),
  );
  return li;
}

function applicationItem(application) {
  const li = element("li", undefined, { "data-id": application.id });
  li.append(element("h4", `${application.legal_name} (LEI ${application.lei}, ${application.jurisdiction})`));
  const owners = application.beneficial_owners.map((o) => `${o.name} ${o.ownership_percent} %`).join(", ");
  li.append(element("p", `Status: ${application.status.replace("_", " ")}. Beneficial owners: ${owners || "none declared"}.`));
  if (application.hits.length) {
    const hits = element("ul", undefined, { "aria-label": `Screening hits of ${application.legal_name}` });
    hits.append(...application.hits.map((hit) => hitItem(application, hit)));
    li.append(element("p", "Screening hits:"), hits);
  }
  const noteId = `kyc-note-${application.id}`;
  li.append(element("label", `Decision note for ${application.legal_name}`, { for: noteId }));
  const note = element("input", undefined, { id: noteId, maxlength: "500" });
  li.append(note);
  const decide = (approve) =>
    act(async () => {
      await stepUp($("compliance-totp"), "decide an application");
      const body = { approve, note: note.value.trim() };
      const decided = await request("POST", `/v1/kyc/applications/${application.id}/decision`, body);
      const onChain = decided.settlement_id ? ` (identity registry write ${decided.settlement_id.slice(0, 8)})` : "";
      return `${application.legal_name}: ${decided.status}${onChain}.`;
    });
  li.append(
    " ",
    button("Approve", `Approve ${application.legal_name}`, () => decide(true)),
    " ",
    button("Reject", `Reject ${application.legal_name}`, () => decide(false)),
  );
  return li;
}

function memberRow(org) {
  const tr = element("tr", undefined, { "data-id": org.id });
  for (const text of [org.name, org.lei, org.kyc_status, org.kyc_expiry ? org.kyc_expiry.slice(0, 10) : "—"]) {
    tr.append(element("td", text));
  }
  const cell = element("td");
  for (const [action, text] of Object.entries(ACTIONS)) {
    cell.append(
      button(text, `${text} ${org.name}`, () =>
        act(async () => {
          const reason = $("member-reason").value.trim();
          if (reason.length < 1) throw new Error("Give the reason for the member action: the audit trail keeps it.");
          await stepUp($("compliance-totp"), `${action} a member`);
          const changed = await request("POST", `/v1/organizations/${org.id}/kyc/${action}`, { reason });
          $("member-reason").value = "";
          return `${org.name}: KYC ${changed.kyc_status}.`;
        }),
      ),
      " ",
    );
  }
  tr.append(cell);
  return tr;
}

function auditRow(entry) {
  const tr = element("tr", undefined, { "data-sequence": String(entry.sequence) });
  for (const text of [String(entry.sequence), entry.at, entry.actor, entry.action, `${entry.object_type} ${entry.object_id}`]) {
    tr.append(element("td", text));
  }
  return tr;
}

async function verify() {
  await act(async () => {
    const v = await request("GET", "/v1/audit/verify");
    const anchors = `${v.anchors_checked} anchors checked on the ${v.anchors_source}, ${v.unanchored_entries} entries not anchored yet`;
    const text = v.ok
      ? `Audit trail intact: ${v.entries} entries, ${anchors}.`
      : `Audit trail BROKEN at entry ${v.first_bad_sequence}: ${v.reason}.`;
    $("audit-verdict").textContent = text;
    return text;
  });
}

export async function refresh() {
  if ($("compliance").hidden) return;
  const [waiting, orgs, audit] = await Promise.all([
    Promise.all(WAITING.map((s) => request("GET", `/v1/kyc/applications?status=${s}&limit=100`))),
    request("GET", "/v1/organizations?limit=200"),
    request("GET", "/v1/audit/entries?limit=200"),
  ]);
  const applications = waiting.flatMap((page) => page.data);
  $("kyc-queue").replaceChildren(...applications.map(applicationItem));
  $("kyc-empty").hidden = applications.length > 0;
  $("members").replaceChildren(...orgs.data.filter((o) => !o.is_operator).map(memberRow));
  // operator staff's own reads are audited too (operator.view): the desk would fill with its own refreshes
  const decisions = audit.data.filter((entry) => entry.action !== "operator.view").slice(0, 50);
  $("audit").replaceChildren(...decisions.map(auditRow));
}

// Called once after sign-in with the person's role: only compliance officers see the section. Operator staff have
// no member stream; the page refreshes after each action and on the Refresh button.
export async function start(me) {
  if (me.role !== "compliance_officer") return;
  $("audit-verify").addEventListener("click", verify);
  $("compliance-refresh").addEventListener("click", () =>
    Promise.all([refresh(), surveillance.refresh()]).catch((err) => say(err.message)),
  );
  $("compliance").hidden = false;
  await refresh().catch((err) => say(err.message)); // said in the section, not under a hidden sign-in form
  await surveillance.start(me).catch((err) => say(err.message));
}

