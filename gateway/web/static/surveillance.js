// Market surveillance on the compliance officer's desk: the alerts the surveillance service raised (newest first)
// and the cases they opened, each case with its alerts and its history; an officer takes a case, comments,
// escalates and closes it with a reason. A high-severity case closes only when a second officer confirms the close
// another requested: the gateway decides that, the page says what it answered. Evidence files and the SAR stay with
// the API (POST /v1/surveillance/cases/{id}/evidence, /sar).
import { request } from "/app/static/api.js";
import { $, element } from "/app/static/dom.js";

let me = null; // the officer signed in (GET /v1/me)
let openCase = null; // the case on screen
let working = false;

function say(text) {
  $("case-status").textContent = text;
  $("case-status").focus();
}

const when = (iso) => String(iso).replace("T", " ").slice(0, 19);

function row(cells, extra) {
  const tr = element("tr");
  for (const text of cells) tr.append(element("td", text));
  if (extra) {
    const td = element("td");
    td.append(extra);
    tr.append(td);
  }
  return tr;
}

function entryText(entry) {
  const b = entry.body;
  const detail = b.text ?? b.reason ?? b.name ?? (b.assignee ? `to ${b.assignee === me.id ? "you" : b.assignee}` : null) ?? b.alert ?? "";
  return `${when(entry.at)} · ${entry.kind.replaceAll("_", " ")} · ${entry.actor}${detail ? ` · ${detail}` : ""}`;
}

async function show(caseId) {
  const c = await request("GET", `/v1/surveillance/cases/${caseId}`);
  openCase = c.id;
  $("case-title").textContent = `Case SC${c.number}: ${c.subject}`;
  const assignee = c.assignee === null ? "nobody" : c.assignee === me.id ? "you" : c.assignee;
  $("case-facts").replaceChildren(
    ...[
      ["Severity", c.severity],
      ["Status", c.status.replaceAll("_", " ")],
      ["Assigned to", assignee],
      ["Opened", when(c.opened_at)],
      ["Closed", c.closed_at ? `${when(c.closed_at)}: ${c.close_reason}` : "—"],
    ].flatMap(([term, value]) => [element("dt", term), element("dd", value)]),
  );
  $("case-alerts").replaceChildren(
    ...c.alerts.map((a) => element("li", `${a.severity} · ${a.typology} (${a.detector}, score ${a.score}) · ${a.reason} · observed ${when(a.observed_at)}`)),
  );
  $("case-entries").replaceChildren(...c.entries.map((e) => element("li", entryText(e))));
  const closed = c.status === "closed";
  $("case-actions").hidden = closed;
  $("case-assign").hidden = c.assignee === me.id;
  $("case-panel").hidden = false;
}

// One change to the case on screen; the case and the lists are read again before the outcome is said.
async function change(path, body, done) {
  if (working || openCase === null) return;
  working = true;
  const caseId = openCase;
  let outcome;
  try {
    const c = await request("POST", `/v1/surveillance/cases/${caseId}/${path}`, body);
    outcome = done(c);
  } catch (err) {
    outcome = err.message;
  } finally {
    working = false;
  }
  await Promise.all([refresh(), show(caseId)]).catch((err) => {
    outcome = err.message;
  });
  say(outcome); // once the case on screen shows the change
}

function note() {
  const text = $("case-note").value.trim();
  if (!text) throw new Error("Write the comment or reason first.");
  return text;
}

export async function refresh() {
  if ($("surveillance").hidden) return;
  const [alerts, cases] = await Promise.all([
    request("GET", "/v1/surveillance/alerts?limit=50"),
    request("GET", "/v1/surveillance/cases?limit=50"),
  ]);
  $("alerts").replaceChildren(
    ...alerts.data.map((a) => row([when(a.observed_at), a.severity, a.typology, a.subject, a.reason])),
  );
  $("alerts-empty").hidden = alerts.data.length > 0;
  $("cases").replaceChildren(
    ...cases.data.map((c) => {
      const open = element("button", "Open", { type: "button", "aria-label": `Open case SC${c.number}` });
      open.addEventListener("click", () => show(c.id).catch((err) => say(err.message)));
      const assignee = c.assignee === null ? "nobody" : c.assignee === me.id ? "you" : "another officer";
      return row([`SC${c.number}`, c.subject, c.severity, c.status.replaceAll("_", " "), assignee, when(c.opened_at)], open);
    }),
  );
  $("cases-empty").hidden = cases.data.length > 0;
}

export async function start(officer) {
  me = officer;
  $("case-assign").addEventListener("click", () =>
    change("assign", { assignee: me.id }, (c) => `Case SC${c.number} is yours.`),
  );
  for (const [id, path, words] of [
    ["case-comment", "comments", "Comment added"],
    ["case-escalate", "escalate", "Escalated"],
    ["case-close", "close", null],
  ]) {
    $(id).addEventListener("click", () => {
      let text;
      try {
        text = note();
      } catch (err) {
        say(err.message);
        return;
      }
      const body = path === "comments" ? { text } : { reason: text };
      change(path, body, (c) => {
        $("case-note").value = "";
        if (words) return `${words} to case SC${c.number}.`;
        return c.status === "closed"
          ? `Case SC${c.number} is closed.`
          : `Close requested on case SC${c.number}: a second officer must confirm it (high severity).`;
      });
    });
  }
  $("surveillance").hidden = false;
  await refresh();
}
