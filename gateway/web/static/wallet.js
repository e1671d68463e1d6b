// The browser wallet: an injected EIP-1193 provider (window.ethereum, MetaMask-style). Self-held wallets sign and
// send through it; the page never sees their keys. What the gateway hands the wallet is checked here first against
// where the repo engine is on this chain (GET /v1/network, read once): a wrong answer from the gateway cannot make
// the wallet sign for another contract or chain, or send to another contract.
import { request } from "/app/static/api.js";

let known = null;

// Where the repo engine and the position contract are, and the chain id (GET /v1/network, read once).
export async function network() {
  if (known === null) known = await request("GET", "/v1/network");
  return known;
}

const ADDRESS = /^0x[0-9a-fA-F]{40}$/;
const same = (a, b) => ADDRESS.test(String(a)) && String(a).toLowerCase() === String(b).toLowerCase();

// An EIP-712 document is for the repo engine on this chain, of the expected primary type, and that type's fields are
// exactly the message's (nothing signed that is not shown). Throws when not.
export async function checkDocument(typedData, primaryType) {
  const n = await network();
  const domain = typedData?.domain ?? {};
  const fields = (typedData?.types?.[primaryType] ?? []).map((f) => f.name);
  const message = Object.keys(typedData?.message ?? {});
  const ok =
    typedData?.primaryType === primaryType &&
    same(domain.verifyingContract, n.repo_engine) &&
    Number(domain.chainId) === Number(n.chain_id) &&
    fields.length === message.length &&
    fields.every((f) => message.includes(f));
  if (!ok) throw new Error("The document to sign is not for the repo engine on this chain: nothing was signed.");
}

// The 4-byte selector of the function each step of the page calls (repo engine; the position contract's
// transferFrom for a position transfer). tests/gateway/web/test_wallet_selectors.py checks them against the compiled
// ABIs, so that a step handed back by the API is sent only if it is the function the person chose.
const SELECTORS = {
  "margin-call": "3f45c158",
  repurchase: "64c96f85",
  margin: "e400e6ca",
  "withdraw-excess": "e99ca7c8",
  terminate: "7a828b28",
  default: "55e1172d",
  "close-out": "eddf7abb",
  "early-repurchase": "acf5acef",
  substitution: "1bde4b8b",
  "position-transfer": "23b872dd",
};

// each step's calldata length where all its arguments are static words (the others carry a signature's bytes)
const STATIC_WORDS = {
  "margin-call": 1, repurchase: 1, margin: 3, "withdraw-excess": 3, terminate: 1, default: 1, "close-out": 1,
  "position-transfer": 3,
};

const word = (data, i) => data.slice(10 + 64 * i, 10 + 64 * (i + 1));
export const uintWord = (value) => BigInt(value).toString(16).padStart(64, "0");
export const addressWord = (address) => String(address).toLowerCase().slice(2).padStart(64, "0");

// A step the API returned for a self-held wallet, checked before the wallet sends it: from that wallet, to the repo
// engine (or, for a position transfer, the position contract), no value, and calling the function of ``step`` on
// the repo on screen with the arguments on screen: ``words`` (argument index -> its 32-byte word: amounts typed,
// an instruction's fields; a transfer's from, to and token id always) and, where every argument is static, nothing
// more. Only those fields go to the wallet, with this network's chain id (a wallet on another chain refuses).
export async function checkedTransaction(tx, wallet, { step, repoId, to = null, words = {} }) {
  const n = await network();
  if (!same(tx.from, wallet)) throw new Error(`The step is not from your wallet ${wallet}: nothing was sent.`);
  const toPosition = step === "position-transfer";
  const target = toPosition ? n.repo_position : n.repo_engine;
  if (!same(tx.to, target) || !/^0x[0-9a-fA-F]*$/.test(String(tx.data)) || ("value" in tx && BigInt(tx.value) !== 0n)) {
    throw new Error(`The step is not a call to the ${toPosition ? "position contract" : "repo engine"}: nothing was sent.`);
  }
  const data = String(tx.data).toLowerCase();
  const expected = toPosition
    ? { 0: addressWord(wallet), 1: addressWord(to), 2: uintWord(repoId) }
    : { ...words, 0: uintWord(repoId) };
  const selector = SELECTORS[step];
  const sized = !(step in STATIC_WORDS) || data.length === 10 + 64 * STATIC_WORDS[step];
  if (!selector || !data.startsWith("0x" + selector) || !sized || !Object.entries(expected).every(([i, w]) => word(data, Number(i)) === w)) {
    throw new Error(`The step is not the ${step.replaceAll("-", " ")} of repo ${repoId} you asked for: nothing was sent.`);
  }
  return { from: tx.from, to: tx.to, data: tx.data, chainId: "0x" + BigInt(n.chain_id).toString(16) };
}

export function browserWallet() {
  const provider = window.ethereum;
  if (!provider || typeof provider.request !== "function") {
    throw new Error("No browser wallet found: a self-held wallet signs through an EIP-1193 wallet such as MetaMask.");
  }
  return provider;
}

// ``provider`` on this network's chain (asked after every check of what it is to sign or send): a wallet on another
// chain would sign for a chain id the engine refuses, or send the step to another chain.
export async function onChain(provider) {
  const n = await network();
  const id = await provider.request({ method: "eth_chainId" });
  if (BigInt(id) !== BigInt(n.chain_id)) {
    throw new Error(`Your browser wallet is on chain ${BigInt(id)}, not this network's ${n.chain_id}: switch networks in the wallet. Nothing was signed or sent.`);
  }
  return provider;
}

export const walletOnChain = () => onChain(browserWallet());

// EIP-1193's 4001: the user refused in the wallet.
export const declined = (err) => err?.code === 4001;

export const utf8Hex = (text) => "0x" + [...new TextEncoder().encode(text)].map((b) => b.toString(16).padStart(2, "0")).join("");
