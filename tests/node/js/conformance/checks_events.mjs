// Logs as dApps read them: eth_getLogs through both clients, polling filters, and WebSocket subscriptions.
import assert from 'node:assert/strict';
import { Contract, WebSocketProvider, Wallet } from 'ethers';
import { createPublicClient, webSocket } from 'viem';
import { within } from './context.mjs';

async function transfer(ctx, to, amount) {
  const hash = await ctx.wallet(0).writeContract({
    address: ctx.token.address, abi: ctx.token.abi, functionName: 'transfer', args: [to, amount],
  });
  return ctx.wait(hash);
}

function freshAddress(seed) {
  return `0x${seed.toString(16).padStart(40, '0')}`;
}

async function until(what, probe) {
  return within((async () => {
    for (;;) {
      const value = await probe();
      if (value) return value;
      await new Promise((r) => setTimeout(r, 100));
    }
  })(), what);
}

export const eventChecks = {
  'viem: getContractEvents by indexed argument': async (ctx) => {
    const payee = freshAddress(0xa1);
    const receipt = await transfer(ctx, payee, 5n);
    const logs = await ctx.publicClient.getContractEvents({
      address: ctx.token.address, abi: ctx.token.abi, eventName: 'Transfer', args: { to: payee },
      fromBlock: receipt.blockNumber, toBlock: receipt.blockNumber,
    });
    assert.equal(logs.length, 1);
    assert.equal(logs[0].args.value, 5n);
    assert.equal(logs[0].transactionHash, receipt.transactionHash);
  },
  'ethers: queryFilter by indexed argument': async (ctx) => {
    const payee = freshAddress(0xa2);
    const receipt = await transfer(ctx, payee, 6n);
    const token = new Contract(ctx.token.address, ctx.token.abi, ctx.ethersProvider);
    const events = await token.queryFilter(token.filters.Transfer(null, payee), Number(receipt.blockNumber), Number(receipt.blockNumber));
    assert.equal(events.length, 1);
    assert.equal(events[0].args.value, 6n);
  },
  'viem: event filter and block filter with getFilterChanges': async (ctx) => {
    const payee = freshAddress(0xa3);
    const filter = await ctx.publicClient.createContractEventFilter({
      address: ctx.token.address, abi: ctx.token.abi, eventName: 'Transfer', args: { to: payee },
    });
    const blocks = await ctx.publicClient.createBlockFilter();
    const receipt = await transfer(ctx, payee, 7n);
    const logs = await until('filter changes', async () => {
      const changes = await ctx.publicClient.getFilterChanges({ filter });
      return changes.length ? changes : null;
    });
    assert.equal(logs[0].transactionHash, receipt.transactionHash);
    assert.equal(logs[0].args.value, 7n);
    const hashes = await ctx.publicClient.getFilterChanges({ filter: blocks });
    assert.ok(hashes.length >= 1);
    assert.ok(await ctx.publicClient.uninstallFilter({ filter }));
  },
  'viem: WebSocket newHeads and logs subscriptions': async (ctx) => {
    const client = createPublicClient({ chain: ctx.chain, transport: webSocket(ctx.ws) });
    const payee = freshAddress(0xa4);
    let unwatchBlocks;
    let unwatchLogs;
    try {
      const block = new Promise((resolve) => {
        unwatchBlocks = client.watchBlockNumber({ poll: false, onBlockNumber: resolve, onError: () => {} });
      });
      const log = new Promise((resolve) => {
        unwatchLogs = client.watchContractEvent({
          address: ctx.token.address, abi: ctx.token.abi, eventName: 'Transfer', args: { to: payee }, poll: false,
          onLogs: (logs) => resolve(logs[0]), onError: () => {},
        });
      });
      await new Promise((r) => setTimeout(r, 300)); // let both eth_subscribe calls be answered
      const receipt = await transfer(ctx, payee, 8n);
      const [number, event] = await within(Promise.all([block, log]), 'WebSocket notifications');
      assert.ok(number >= 1n);
      assert.equal(event.transactionHash, receipt.transactionHash);
      assert.equal(event.args.value, 8n);
    } finally {
      unwatchBlocks?.();
      unwatchLogs?.();
      (await client.transport.getRpcClient()).close();
    }
  },
  'ethers: WebSocketProvider block and contract event listeners': async (ctx) => {
    const provider = new WebSocketProvider(ctx.ws, ctx.chainId);
    const payee = freshAddress(0xa5);
    try {
      const token = new Contract(ctx.token.address, ctx.token.abi, provider);
      const block = new Promise((resolve) => provider.once('block', resolve));
      const event = new Promise((resolve) => token.once(token.filters.Transfer(null, payee), (...args) => resolve(args.at(-1))));
      await new Promise((r) => setTimeout(r, 300));
      const sender = new Contract(ctx.token.address, ctx.token.abi, new Wallet(ctx.keys[0], provider));
      const tx = await sender.transfer(payee, 9n);
      const [number, payload] = await within(Promise.all([block, event]), 'ethers WebSocket events');
      assert.ok(number >= 1);
      assert.equal(payload.log.transactionHash, tx.hash);
      await within(tx.wait(), 'ethers WebSocket receipt');
    } finally {
      await provider.destroy();
    }
  },
};
