// Changes to a repo that both sides agree by signature (the engine's two-party instructions): a re-rate or a roll
// (seller and holder both sign; the gateway's relayer sends it once both have), an early repurchase (the holder
// consents; the seller's wallet then pays and takes its collateral back) and a collateral substitution (the seller
// proposes, the holder consents, the seller's wallet sends it). Either side proposes in the repo panel; the other
// learns of it live (instruction.* events) and reads it in words before signing. A custodial wallet signs through
// the gateway with a fresh authenticator code; a self-held one signs the instruction's EIP-712 document in the
// browser wallet, after the page has checked that the document says what is on screen.
import { request, stepUp } from "/app/static/api.js";
import { $, element } from "/app/static/dom.js";
import { formatAmount, fromUnits } from "/app/static/money.js";
import { percentToFraction } from "/app/static/trader.js";
import { addressWord, checkDocument, checkedTransaction, declined, uintWord, walletOnChain } from "/app/static/wallet.js";

const ROLL = "0";
const RERATE = "1";
const COUPON_ELECTION = "2";
const SENT_BY_THE_SELLER = new Set(["Substitution", "EarlyRepurchase"]);
let instruments = new Map();
let walletKinds = new Map(); // address (lower case) -> custodial | self_held, this member's wallets
let current = null; // {repoId, role, wallet, status}
let loads = 0;

const token = (address) => instruments.get(String(address).toLowerCase());

// What the instruction changes, in words, from its signed message (not from anything else the API says).
export function describe(kind, m) {
  if (kind === "EarlyRepurchase") return "Repurchase now, before maturity, at the repurchase price accrued so far";
  if (kind === "Substitution") {
    const bond = token(m.newCollateralToken);
    const amount = bond ? formatAmount(fromUnits(m.newCollateralAmount, bond.decimals), bond) : `${m.newCollateralAmount} units of ${m.newCollateralToken}`;
    return `Substitute the collateral: ${amount}${bond ? ` (${bond.symbol})` : ""} instead of what is in escrow`;
  }
  if (m.kind === ROLL) return `Roll: new maturity ${new Date(Number(m.newMaturity) * 1000).toISOString()}`;
  if (m.kind === RERATE) return `Re-rate: ${fromUnits(m.newRate, 16).replace(/\.?0+$/, "")} % a year from now on`;
  if (m.kind === COUPON_ELECTION) return m.newRate !== "0" ? "Coupons reduce the repurchase price" : "Coupons are paid to the seller";
  return `${kind} (unknown kind ${m.kind})`;
}

async function loadWallets() {
  const listed = await request("GET", "/v1/wallets?limit=200");
  walletKinds = new Map(listed.data.map((w) => [w.address.toLowerCase(), w.kind]));
}

function say(text) {
  $("instruction-status").textContent = text;
}

// One step on an instruction, one at a time; the list is read again afterwards.
async function step(work) {
  const repoId = current.repoId;
  const buttons = () => document.querySelectorAll("#instruction-list button, #propose-form button");
  for (const b of buttons()) b.disabled = true;
  say("");
  try {
    say(await work());
  } catch (err) {
    say(declined(err) ? "You declined in your wallet: nothing was signed." : err.message);
  } finally {
    if (current && current.repoId === repoId) await load().catch((err) => say(err.message));
    for (const b of buttons()) b.disabled = false;
    $("instruction-status").focus();
  }
}

// A self-held wallet's signature: the document must be this instruction's (its kind and every field of its signed
// message as on screen) before the browser wallet is asked.
async function signInWallet(instruction) {
  const doc = instruction.typed_data;
  const same =
    instruction.repo_id === current.repoId &&
    String(instruction.message.repoId) === String(current.repoId) &&
    Object.entries(instruction.message).every(([k, v]) => String(doc.message?.[k]) === String(v)) &&
    Object.keys(doc.message ?? {}).length === Object.keys(instruction.message).length;
  if (!same) throw new Error("The document to sign is not the instruction on screen: nothing was signed.");
  await checkDocument(doc, instruction.kind);
  const provider = await walletOnChain();
  const accounts = (await provider.request({ method: "eth_requestAccounts" })).map((a) => a.toLowerCase());
  if (!accounts.includes(current.wallet)) throw new Error(`Your browser wallet does not offer ${current.wallet}: nothing was signed.`);
  const signature = await provider.request({ method: "eth_signTypedData_v4", params: [current.wallet, JSON.stringify(doc)] });
  return request("POST", `/v1/instructions/${instruction.id}/signature`, { signature });
}

// A step the gateway handed back for this member's self-held wallet to send for ``instruction`` (the one on screen),
// checked first: from the wallet on screen, to the engine, no value, the function and every field of the instruction
// (its repo, nonce and deadline; a substitution's new collateral). The instruction stays "handed out" until the
// chain shows it, so a declined or lost transaction can be asked for again with Send.
async function sendFromWallet(transaction, instruction) {
  const m = instruction.message;
  const [step, words] =
    instruction.kind === "EarlyRepurchase"
      ? ["early-repurchase", { 2: uintWord(m.nonce), 3: uintWord(m.deadline) }]
      : ["substitution", { 1: addressWord(m.newCollateralToken), 2: uintWord(m.newCollateralAmount), 4: uintWord(m.nonce), 5: uintWord(m.deadline) }];
  if (instruction.repo_id !== current.repoId) throw new Error("The step is not about the repo on screen: nothing was sent.");
  const tx = await checkedTransaction(transaction, current.wallet, { step, repoId: current.repoId, words });
  const hash = await (await walletOnChain()).request({ method: "eth_sendTransaction", params: [tx] });
  return `Sent from your wallet: transaction ${hash}. The repo shows it once it is in a block.`;
}

async function outcome(after, instruction) {
  if (after.transaction) return sendFromWallet(after.transaction, instruction); // the last signature was the sender's
  if (after.status === "submitted") return "Signed, and on its way to the chain: the repo shows it once it is in a block.";
  return `Signed: ${after.signed_by.length} of ${after.required.length} signatures.`;
}

function row(instruction) {
  const mine = current.wallet;
  const signedBy = instruction.signed_by.map((a) => a.toLowerCase());
  const required = instruction.required.map((a) => a.toLowerCase());
  const pending = instruction.status === "pending";
  const sendable = pending || instruction.status === "handed_out"; // handed out: not yet seen on chain
  const li = element("li");
  li.dataset.id = instruction.id;
  li.append(
    element("p", describe(instruction.kind, instruction.message)),
    element("p", `${instruction.status.replaceAll("_", " ")} · signed ${signedBy.length} of ${required.length}${instruction.rejection_reason ? ` · rejected by an approver: ${instruction.rejection_reason}` : ""}`),
  );
  if (pending && required.includes(mine) && !signedBy.includes(mine)) {
    const button = element("button", "Sign", { type: "button", "aria-label": `Sign: ${describe(instruction.kind, instruction.message)}` });
    button.addEventListener("click", () =>
      step(async () => {
        if (walletKinds.get(mine) === "self_held") return outcome(await signInWallet(instruction), instruction);
        await stepUp($("instruction-totp"), "sign the instruction");
        return outcome(await request("POST", `/v1/instructions/${instruction.id}/sign`), instruction);
      }),
    );
    li.append(button);
  }
  const complete = required.every((a) => signedBy.includes(a));
  if (sendable && complete && current.role === "seller" && SENT_BY_THE_SELLER.has(instruction.kind)) {
    const button = element("button", "Send", { type: "button", "aria-label": `Send from your wallet: ${describe(instruction.kind, instruction.message)}` });
    button.addEventListener("click", () =>
      step(async () => {
        await stepUp($("instruction-totp"), "send the instruction");
        const sent = await request("POST", `/v1/instructions/${instruction.id}/submit`);
        if (sent.transaction) return sendFromWallet(sent.transaction, instruction);
        return "Sent: the repo shows it once it is in a block.";
      }),
    );
    li.append(button);
  }
  return li;
}

async function load() {
  const load = ++loads;
  const listed = await request("GET", `/v1/repos/${current.repoId}/instructions`);
  if (load !== loads) return;
  $("instruction-list").replaceChildren(...listed.data.map(row));
  $("instructions-empty").hidden = listed.data.length > 0;
}

// The repo on screen (repo.js): its instructions, and what this side may propose.
export async function show(position) {
  const wallet = String(position.role === "seller" ? position.seller : position.holder).toLowerCase();
  if (!current || current.repoId !== position.repo_id) say("");
  current = { repoId: position.repo_id, role: position.role, wallet, status: position.status };
  const live = position.status === "open" || position.status === "margin_called";
  $("propose-form").hidden = !live;
  const substitution = $("propose-kind").querySelector('option[value="substitution"]');
  substitution.disabled = position.role !== "seller";
  if (substitution.disabled && $("propose-kind").value === "substitution") $("propose-kind").value = "rerate";
  fields();
  await load();
}

// Only the fields of the chosen change are shown.
function fields() {
  const kind = $("propose-kind").value;
  $("propose-rate-field").hidden = kind !== "rerate";
  $("propose-tenor-field").hidden = kind !== "roll";
  $("propose-substitution-fields").hidden = kind !== "substitution";
}

function proposal() {
  const kind = $("propose-kind").value;
  const repo = current.repoId;
  if (kind === "rerate") return [`/v1/repos/${repo}/amendments`, { kind: "rerate", new_rate: percentToFraction($("propose-rate").value) }];
  if (kind === "roll") {
    const days = Number($("propose-tenor").value);
    if (!(days > 0)) throw new Error("New tenor: a positive number of days.");
    return [`/v1/repos/${repo}/amendments`, { kind: "roll", new_tenor_seconds: Math.round(days * 86_400) }];
  }
  if (kind === "early") return [`/v1/repos/${repo}/early-repurchase`, undefined];
  return [`/v1/repos/${repo}/substitutions`, { new_collateral_token: $("propose-collateral").value, new_collateral_amount: $("propose-amount").value.trim() }];
}

export async function start(listed) {
  instruments = listed;
  $("propose-collateral").replaceChildren(
    ...[...listed.values()].filter((i) => i.kind === "bond").map((i) => element("option", `${i.symbol}${i.isin ? ` (${i.isin})` : ""}`, { value: i.address })),
  );
  $("propose-kind").addEventListener("change", fields);
  $("propose-form").addEventListener("submit", (e) => {
    e.preventDefault();
    step(async () => {
      const [path, body] = proposal();
      const made = await request("POST", path, body);
      return `Proposed: ${describe(made.kind, made.message)}. The other side is told; sign it below when it is yours to sign.`;
    });
  });
  await loadWallets();
}

// A stream event: the instructions of the repo on screen are read again when one of them changed.
export async function onEvent(event) {
  if (current && event.type.startsWith("instruction.") && Number(event.data?.repo_id) === current.repoId) await load();
}
