// A self-held wallet's allowance to the repo engine. Custodial wallets' approvals are the gateway's (queued before
// the step that needs them); a self-held wallet approves the engine itself, from the browser wallet: an unlimited
// allowance, as custodial wallets give (the engine moves tokens only as a repo both sides signed requires). The
// allowance is read through the browser wallet's own node (eth_call), never through the gateway.
import { $, element } from "/app/static/dom.js";
import { formatAmount, fromUnits } from "/app/static/money.js";
import { declined, network, walletOnChain } from "/app/static/wallet.js";

// approve(address,uint256) and allowance(address,address): tests/gateway/web/test_wallet_selectors.py checks them
export const APPROVE = "095ea7b3";
export const ALLOWANCE = "dd62ed3e";
const UNLIMITED = (1n << 256n) - 1n;

const addressWord = (address) => String(address).toLowerCase().slice(2).padStart(64, "0");
let instruments = new Map();

function fill(select, items, label) {
  select.replaceChildren(...items.map((item) => element("option", label(item), { value: item.value })));
}

// The member's self-held wallets and the listed tokens to choose from; hidden while it has no self-held wallet.
export function show(listed, wallets) {
  instruments = listed;
  const own = wallets.filter((w) => w.kind === "self_held");
  $("allow-section").hidden = own.length === 0;
  fill($("allow-wallet"), own.map((w) => ({ ...w, value: w.address })), (w) => `${w.label} (${w.address.slice(0, 10)}…)`);
  fill($("allow-token"), [...listed.values()].map((i) => ({ ...i, value: i.address })), (i) => `${i.symbol}${i.currency ? " (" + i.currency + ")" : ""}`);
}

async function allowanceNow(provider, owner, token) {
  const n = await network();
  const data = "0x" + ALLOWANCE + addressWord(owner) + addressWord(n.repo_engine);
  const answer = await provider.request({ method: "eth_call", params: [{ to: token, data }, "latest"] });
  const units = BigInt(answer);
  if (units >= UNLIMITED / 2n) return "unlimited";
  const instrument = instruments.get(token.toLowerCase());
  return instrument ? formatAmount(fromUnits(units.toString(), instrument.decimals), instrument) : `${units} units`;
}

// The transaction's receipt once it is in a block (the browser wallet's node asked every second, two minutes at most).
async function mined(provider, hash) {
  for (let i = 0; i < 120; i += 1) {
    const receipt = await provider.request({ method: "eth_getTransactionReceipt", params: [hash] });
    if (receipt) return receipt;
    await new Promise((resolve) => setTimeout(resolve, 1000));
  }
  throw new Error(`Transaction ${hash} is not in a block after two minutes: look in your wallet.`);
}

async function allow(e) {
  e.preventDefault();
  const button = $("allow-form").querySelector("button");
  const status = $("allow-status");
  status.textContent = "";
  button.disabled = true;
  try {
    const wallet = $("allow-wallet").value;
    const token = $("allow-token").value;
    const n = await network();
    const provider = await walletOnChain();
    const accounts = ((await provider.request({ method: "eth_requestAccounts" })) ?? []).map((a) => String(a).toLowerCase());
    if (!accounts.includes(wallet.toLowerCase())) throw new Error(`Your browser wallet does not offer ${wallet}: nothing was sent.`);
    const data = "0x" + APPROVE + addressWord(n.repo_engine) + UNLIMITED.toString(16);
    const chainId = "0x" + BigInt(n.chain_id).toString(16);
    const hash = await provider.request({ method: "eth_sendTransaction", params: [{ from: wallet, to: token, data, chainId }] });
    status.textContent = `Sent from your wallet: transaction ${hash}; waiting for it to be in a block…`;
    const receipt = await mined(provider, hash);
    if (BigInt(receipt.status) !== 1n) throw new Error(`The approval failed on chain (transaction ${hash}).`);
    status.textContent = `Sent from your wallet: transaction ${hash}. The repo engine's allowance from ${wallet} is now ${await allowanceNow(provider, wallet, token)}.`;
  } catch (err) {
    status.textContent = declined(err) ? "You declined in your wallet: nothing was sent." : err.message;
  } finally {
    button.disabled = false;
    status.focus();
  }
}

export function start() {
  $("allow-form").addEventListener("submit", allow);
}
