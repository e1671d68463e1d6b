// The browser wallet: an injected EIP-1193 provider (window.ethereum, MetaMask-style). Self-held wallets sign and
// send through it; the page never sees their keys.

export function browserWallet() {
  const provider = window.ethereum;
  if (!provider || typeof provider.request !== "function") {
    throw new Error("No browser wallet found: a self-held wallet signs through an EIP-1193 wallet such as MetaMask.");
  }
  return provider;
}

// EIP-1193's 4001: the user refused in the wallet.
export const declined = (err) => err?.code === 4001;

export const utf8Hex = (text) => "0x" + [...new TextEncoder().encode(text)].map((b) => b.toString(16).padStart(2, "0")).join("");
