// What every check gets for one backend: viem and ethers clients, funded keys, the test token deployed once.
import { JsonRpcProvider } from 'ethers';
import { createPublicClient, createWalletClient, defineChain, http } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { ARTIFACTS, DEV_KEYS } from './backends.mjs';

export const TIMEOUT_MS = 30_000;

export function within(promise, what, ms = TIMEOUT_MS) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

export async function makeContext(backend) {
  const probe = createPublicClient({ transport: http(backend.http) });
  const chainId = await probe.getChainId();
  const chain = defineChain({
    id: chainId,
    name: backend.name,
    nativeCurrency: { name: 'Ether', symbol: 'ETH', decimals: 18 },
    rpcUrls: { default: { http: [backend.http], webSocket: [backend.ws] } },
  });
  const publicClient = createPublicClient({ chain, transport: http(backend.http), pollingInterval: 100 });
  const ethersProvider = new JsonRpcProvider(backend.http, chainId, { pollingInterval: 100, staticNetwork: true });
  const wallet = (index) => createWalletClient({ chain, account: privateKeyToAccount(DEV_KEYS[index]), transport: http(backend.http) });
  const deployer = wallet(0);
  const token = ARTIFACTS.TestToken;
  const hash = await deployer.deployContract({ abi: token.abi, bytecode: token.bytecode, args: [10n ** 24n] });
  const receipt = await within(publicClient.waitForTransactionReceipt({ hash, pollingInterval: 100 }), 'token deployment');
  return {
    name: backend.name,
    http: backend.http,
    ws: backend.ws,
    chain,
    chainId,
    publicClient,
    ethersProvider,
    wallet,
    keys: DEV_KEYS,
    token: { address: receipt.contractAddress, abi: token.abi, owner: deployer.account.address },
    wait: (txHash) => within(publicClient.waitForTransactionReceipt({ hash: txHash, pollingInterval: 100 }), `receipt ${txHash}`),
  };
}
