// Sends as dApps make them: every transaction type, gas and fees estimated by the client, and nonce managers
// under a burst of quick sends from one account.
import assert from 'node:assert/strict';
import { NonceManager, Wallet } from 'ethers';
import { createWalletClient, http, parseGwei } from 'viem';
import { nonceManager, privateKeyToAccount } from 'viem/accounts';
import { within } from './context.mjs';

const RECIPIENT = '0x000000000000000000000000000000000000dEaD';
const ACCESS_LIST = [{ address: '0x2222222222222222222222222222222222222222', storageKeys: [`0x${'00'.repeat(32)}`] }];

// one key per ethers check: ethers caches a provider's answers for 250 ms, so two sends from one key in quick
// succession would both read the same pending nonce
async function ethersSend(ctx, keyIndex, fields) {
  const wallet = new Wallet(ctx.keys[keyIndex], ctx.ethersProvider);
  const tx = await wallet.sendTransaction({ to: RECIPIENT, value: 1n, ...fields });
  const receipt = await within(tx.wait(), 'ethers receipt');
  assert.equal(receipt.status, 1);
  return { tx, receipt };
}

async function viemSend(ctx, keyIndex, fields) {
  const client = ctx.wallet(keyIndex);
  const hash = await client.sendTransaction({ to: RECIPIENT, value: 1n, ...fields });
  const receipt = await ctx.wait(hash);
  assert.equal(receipt.status, 'success');
  return { hash, receipt, tx: await ctx.publicClient.getTransaction({ hash }) };
}

export const sendChecks = {
  'ethers: send with the default type, client-side estimate': async (ctx) => {
    // ethers picks EIP-1559 only when the latest block's base fee is non-zero; on a zero-base-fee chain (ours,
    // Besu's free gas) it sends a legacy transaction, which must work just as well
    const { tx, receipt } = await ethersSend(ctx, 1, {});
    const { baseFeePerGas } = await ctx.ethersProvider.getBlock('latest');
    assert.equal(tx.type, baseFeePerGas > 0n ? 2 : 0);
    assert.equal(receipt.gasUsed, 21000n);
  },
  'ethers: EIP-1559 send (type 2), client-side estimate': async (ctx) => {
    const { tx } = await ethersSend(ctx, 7, { type: 2 });
    assert.equal(tx.type, 2);
  },
  'ethers: legacy send': async (ctx) => {
    const { tx } = await ethersSend(ctx, 8, { type: 0 });
    assert.equal(tx.type, 0);
  },
  'ethers: EIP-2930 send with access list, estimate 25,300': async (ctx) => {
    const { tx, receipt } = await ethersSend(ctx, 9, { type: 1, accessList: ACCESS_LIST });
    assert.equal(tx.type, 1);
    assert.equal(tx.gasLimit, 25300n);
    assert.equal(receipt.gasUsed, 25300n);
  },
  'ethers: EIP-1559 send with access list': async (ctx) => {
    const { tx } = await ethersSend(ctx, 5, { type: 2, accessList: ACCESS_LIST });
    assert.equal(tx.gasLimit, 25300n);
  },
  'viem: EIP-1559 send, client-side estimate': async (ctx) => {
    const { receipt } = await viemSend(ctx, 2, {});
    assert.equal(receipt.type, 'eip1559');
  },
  'viem: legacy send': async (ctx) => {
    const { receipt } = await viemSend(ctx, 2, { type: 'legacy' });
    assert.equal(receipt.type, 'legacy');
  },
  'viem: EIP-2930 send with access list': async (ctx) => {
    const { receipt, tx } = await viemSend(ctx, 2, { type: 'eip2930', accessList: ACCESS_LIST });
    assert.equal(receipt.type, 'eip2930');
    assert.equal(tx.gas, 25300n);
  },
  'viem: estimateGas with an access list': async (ctx) => {
    const gas = await ctx.publicClient.estimateGas({ account: ctx.wallet(2).account, to: RECIPIENT, accessList: ACCESS_LIST });
    assert.equal(gas, 25300n);
  },
  'viem: estimateGas and call with a nonce ahead of the state': async (ctx) => {
    const account = ctx.wallet(2).account.address;
    const nonce = (await ctx.publicClient.getTransactionCount({ address: account })) + 7;
    assert.equal(await ctx.publicClient.estimateGas({ account, to: RECIPIENT, value: 1n, nonce }), 21000n);
    const result = await ctx.publicClient.call({ account, to: RECIPIENT, value: 1n, nonce });
    assert.equal(result.data, undefined);
  },
  'viem: nonceManager, 20 quick sends from one account': async (ctx) => {
    const account = privateKeyToAccount(ctx.keys[3], { nonceManager });
    const client = createWalletClient({ chain: ctx.chain, account, transport: http(ctx.http) });
    const hashes = await Promise.all(Array.from({ length: 20 }, () => client.sendTransaction({ to: RECIPIENT, value: 1n })));
    const receipts = await Promise.all(hashes.map((hash) => ctx.wait(hash)));
    assert.ok(receipts.every((r) => r.status === 'success'));
    const nonces = await Promise.all(hashes.map(async (hash) => (await ctx.publicClient.getTransaction({ hash })).nonce));
    assert.equal(new Set(nonces).size, 20);
  },
  'ethers: NonceManager, 20 quick sends from one account': async (ctx) => {
    const signer = new NonceManager(new Wallet(ctx.keys[4], ctx.ethersProvider));
    const sent = await Promise.all(Array.from({ length: 20 }, () => signer.sendTransaction({ to: RECIPIENT, value: 1n })));
    const receipts = await within(Promise.all(sent.map((tx) => tx.wait())), 'ethers burst receipts');
    assert.ok(receipts.every((r) => r.status === 1));
    assert.equal(new Set(sent.map((tx) => tx.nonce)).size, 20);
  },
  'viem: explicit fees and gas are honoured': async (ctx) => {
    const block = await ctx.publicClient.getBlock();
    const maxFeePerGas = block.baseFeePerGas * 2n + parseGwei('1');
    const { tx } = await viemSend(ctx, 2, { gas: 30000n, maxFeePerGas, maxPriorityFeePerGas: parseGwei('1') });
    assert.equal(tx.gas, 30000n);
  },
};
