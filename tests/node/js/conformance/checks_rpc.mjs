// The rest of what clients call: batches, custom errors, signatures by the node's dev accounts, proofs checked
// with an independent Merkle-Patricia verifier, raw transactions, state overrides, eth_simulateV1, the pending block.
import assert from 'node:assert/strict';
import { verifyMerkleProof } from '@ethereumjs/mpt';
import { RLP } from '@ethereumjs/rlp';
import { Contract, JsonRpcProvider, verifyMessage, verifyTypedData } from 'ethers';
import {
  BaseError, ContractFunctionRevertedError, createPublicClient, createWalletClient, encodeFunctionData, hexToBytes,
  http, keccak256, bytesToHex, pad, toHex, encodeAbiParameters, verifyTypedData as viemVerifyTypedData,
} from 'viem';

const STRANGER = '0x1234567890123456789012345678901234567890';
const EMPTY_ROOT = '0x56e81f171bcc55a6ff8345e692c0f86e5b48e01b996cadc001622fb5e363b421';
const DOMAIN = { name: 'RepoNet', version: '1', chainId: 0, verifyingContract: '0xCcCCccccCCCCcCCCCCCcCcCccCcCCCcCcccccccC' };
const TYPES = { Order: [{ name: 'amount', type: 'uint256' }, { name: 'to', type: 'address' }] };
const ORDER = { amount: 7n, to: STRANGER };

function big(bytes) {
  return bytes.length ? BigInt(bytesToHex(bytes)) : 0n;
}

function revertName(error) {
  const revert = error instanceof BaseError ? error.walk((e) => e instanceof ContractFunctionRevertedError) : null;
  return revert?.data?.errorName;
}

async function proveAgainstRoot(ctx, address, slots) {
  const block = await ctx.publicClient.getBlock();
  const proof = await ctx.publicClient.getProof({ address, storageKeys: slots, blockNumber: block.number });
  const leaf = await verifyMerkleProof(hexToBytes(address), proof.accountProof.map(hexToBytes), {
    root: hexToBytes(block.stateRoot), useKeyHashing: true,
  });
  assert.ok(leaf, 'the account is proven present');
  const [nonce, balance, storageRoot, codeHash] = RLP.decode(leaf);
  assert.equal(big(nonce), BigInt(proof.nonce));
  assert.equal(big(balance), proof.balance);
  assert.equal(bytesToHex(storageRoot), proof.storageHash);
  assert.equal(bytesToHex(codeHash), proof.codeHash);
  const values = [];
  for (const entry of proof.storageProof) {
    if (proof.storageHash === EMPTY_ROOT) {
      values.push(0n);
      continue;
    }
    const raw = await verifyMerkleProof(hexToBytes(pad(entry.key, { size: 32 })), entry.proof.map(hexToBytes), {
      root: hexToBytes(proof.storageHash), useKeyHashing: true,
    });
    const value = raw ? big(RLP.decode(raw)) : 0n;
    assert.equal(value, entry.value);
    values.push(value);
  }
  return values;
}

export const rpcChecks = {
  'viem: batched JSON-RPC over HTTP': async (ctx) => {
    const client = createPublicClient({ chain: ctx.chain, transport: http(ctx.http, { batch: { wait: 10 } }) });
    const [number, chainId, balance, code] = await Promise.all([
      client.getBlockNumber(), client.getChainId(), client.getBalance({ address: ctx.token.owner }),
      client.getCode({ address: ctx.token.address }),
    ]);
    assert.ok(number >= 1n && chainId === ctx.chainId && balance > 0n && code.length > 2);
  },
  'raw batch: ids, order and an error in the middle': async (ctx) => {
    const body = [
      { jsonrpc: '2.0', id: 1, method: 'eth_chainId', params: [] },
      { jsonrpc: '2.0', id: 2, method: 'eth_noSuchMethod', params: [] },
      { jsonrpc: '2.0', id: 3, method: 'eth_blockNumber', params: [] },
    ];
    const response = await fetch(ctx.http, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    const answers = await response.json();
    const byId = Object.fromEntries(answers.map((a) => [a.id, a]));
    assert.equal(answers.length, 3);
    assert.equal(Number(byId[1].result), ctx.chainId);
    assert.equal(byId[2].error.code, -32601);
    assert.match(byId[3].result, /^0x[0-9a-f]+$/);
  },
  'ethers: batched provider calls': async (ctx) => {
    const provider = new JsonRpcProvider(ctx.http, ctx.chainId, { staticNetwork: true, batchMaxCount: 10 });
    const [number, balance, count] = await Promise.all([
      provider.getBlockNumber(), provider.getBalance(ctx.token.owner), provider.getTransactionCount(ctx.token.owner),
    ]);
    assert.ok(number >= 1 && balance > 0n && count >= 1);
    provider.destroy();
  },
  'viem: custom error decoded from eth_call': async (ctx) => {
    try {
      await ctx.publicClient.simulateContract({
        account: STRANGER, address: ctx.token.address, abi: ctx.token.abi, functionName: 'transfer', args: [ctx.token.owner, 1n],
      });
      assert.fail('the transfer should revert');
    } catch (error) {
      assert.equal(revertName(error), 'TestTokenInsufficientBalance');
    }
  },
  'viem: custom error decoded from eth_estimateGas': async (ctx) => {
    try {
      await ctx.publicClient.estimateContractGas({
        account: STRANGER, address: ctx.token.address, abi: ctx.token.abi, functionName: 'transfer', args: [ctx.token.owner, 1n],
      });
      assert.fail('the estimate should revert');
    } catch (error) {
      assert.equal(revertName(error), 'TestTokenInsufficientBalance');
    }
  },
  'ethers: custom error decoded from staticCall and estimateGas': async (ctx) => {
    const token = new Contract(ctx.token.address, ctx.token.abi, ctx.ethersProvider);
    await assert.rejects(
      token.transfer.staticCall(ctx.token.owner, 1n, { from: STRANGER }),
      (error) => error.revert?.name === 'TestTokenInsufficientBalance',
    );
    // ethers decodes a revert only for calls; an estimate's error carries the data for the interface to decode
    await assert.rejects(
      token.transfer.estimateGas(ctx.token.owner, 1n, { from: STRANGER }),
      (error) => token.interface.parseError(error.data)?.name === 'TestTokenInsufficientBalance',
    );
  },
  'viem: typed-data signature by a local account verifies': async (ctx) => {
    const client = ctx.wallet(5);
    const domain = { ...DOMAIN, chainId: ctx.chainId };
    const signature = await client.signTypedData({ domain, types: TYPES, primaryType: 'Order', message: ORDER });
    assert.ok(await viemVerifyTypedData({ address: client.account.address, domain, types: TYPES, primaryType: 'Order', message: ORDER, signature }));
  },
  'dev account: eth_accounts lists the funded accounts': async (ctx) => {
    const accounts = await ctx.publicClient.request({ method: 'eth_accounts' });
    assert.ok(accounts.map((a) => a.toLowerCase()).includes(ctx.token.owner.toLowerCase()));
  },
  'dev account: eth_signTypedData_v4 through an ethers JSON-RPC signer': async (ctx) => {
    const signer = await ctx.ethersProvider.getSigner(ctx.token.owner);
    const domain = { ...DOMAIN, chainId: ctx.chainId };
    const signature = await signer.signTypedData(domain, TYPES, ORDER);
    assert.equal(verifyTypedData(domain, TYPES, ORDER, signature), ctx.token.owner);
  },
  'dev account: personal_sign through viem and ethers JSON-RPC accounts': async (ctx) => {
    const client = createWalletClient({ chain: ctx.chain, account: ctx.token.owner, transport: http(ctx.http) });
    const signature = await client.signMessage({ message: 'repo' });
    assert.equal(verifyMessage('repo', signature), ctx.token.owner);
    const signer = await ctx.ethersProvider.getSigner(ctx.token.owner);
    assert.equal(verifyMessage('again', await signer.signMessage('again')), ctx.token.owner);
  },
  'dev account: eth_sendTransaction through an ethers JSON-RPC signer': async (ctx) => {
    const signer = await ctx.ethersProvider.getSigner(ctx.token.owner);
    const tx = await signer.sendTransaction({ to: STRANGER, value: 3n });
    const receipt = await ctx.wait(tx.hash);
    assert.equal(receipt.status, 'success');
  },
  'dev account: eth_signTransaction gives a raw transaction that sends': async (ctx) => {
    const raw = await ctx.publicClient.request({
      method: 'eth_signTransaction', params: [{ from: ctx.token.owner, to: STRANGER, value: '0x1', gas: '0x5208' }],
    });
    const hash = await ctx.publicClient.request({ method: 'eth_sendRawTransaction', params: [raw] });
    assert.equal(hash, keccak256(raw));
    assert.equal((await ctx.wait(hash)).status, 'success');
  },
  'viem: getProof of an account and storage verified against stateRoot (@ethereumjs/mpt)': async (ctx) => {
    // TestToken's layout: totalSupply at slot 0, balanceOf at slot 1
    const slot = keccak256(encodeAbiParameters([{ type: 'address' }, { type: 'uint256' }], [ctx.token.owner, 1n]));
    const [supply, held, empty] = await proveAgainstRoot(ctx, ctx.token.address, [pad('0x0', { size: 32 }), slot, pad('0x7', { size: 32 })]);
    const balance = await ctx.publicClient.readContract({
      address: ctx.token.address, abi: ctx.token.abi, functionName: 'balanceOf', args: [ctx.token.owner],
    });
    assert.equal(supply, 10n ** 24n);
    assert.ok(held === balance && held > 0n);
    assert.equal(empty, 0n);
    await proveAgainstRoot(ctx, ctx.token.owner, []);
  },
  'raw transactions by hash and by block and index': async (ctx) => {
    const hash = await ctx.wallet(6).sendTransaction({ to: STRANGER, value: 1n });
    const receipt = await ctx.wait(hash);
    const raw = await ctx.publicClient.request({ method: 'eth_getRawTransactionByHash', params: [hash] });
    assert.equal(keccak256(raw), hash);
    const byNumber = await ctx.publicClient.request({
      method: 'eth_getRawTransactionByBlockNumberAndIndex', params: [toHex(receipt.blockNumber), toHex(receipt.transactionIndex)],
    });
    const byHash = await ctx.publicClient.request({
      method: 'eth_getRawTransactionByBlockHashAndIndex', params: [receipt.blockHash, toHex(receipt.transactionIndex)],
    });
    assert.equal(byNumber, raw);
    assert.equal(byHash, raw);
  },
  'viem: eth_call with state overrides (code, stateDiff, balance)': async (ctx) => {
    const target = '0x00000000000000000000000000000000000c0de0';
    const reader = '0x60015460005260206000f3'; // returns storage slot 1
    const { data } = await ctx.publicClient.call({
      to: target,
      stateOverride: [{ address: target, code: reader, stateDiff: [{ slot: pad('0x1', { size: 32 }), value: pad('0x2a', { size: 32 }) }] }],
    });
    assert.equal(BigInt(data), 42n);
    const rich = await ctx.publicClient.call({
      account: STRANGER, to: ctx.token.owner, value: 10n ** 18n,
      stateOverride: [{ address: STRANGER, balance: 10n ** 19n }],
    });
    assert.equal(rich.data, undefined);
  },
  'viem: estimateGas with a balance override': async (ctx) => {
    const gas = await ctx.publicClient.estimateGas({
      account: STRANGER, to: ctx.token.owner, value: 10n ** 18n, stateOverride: [{ address: STRANGER, balance: 10n ** 19n }],
    });
    assert.equal(gas, 21000n);
  },
  'viem: simulateBlocks (eth_simulateV1) with calls and state overrides': async (ctx) => {
    const payee = '0x00000000000000000000000000000000000b0b0b';
    const transfer = encodeFunctionData({ abi: ctx.token.abi, functionName: 'transfer', args: [payee, 11n] });
    const balanceOf = encodeFunctionData({ abi: ctx.token.abi, functionName: 'balanceOf', args: [payee] });
    const blocks = await ctx.publicClient.simulateBlocks({
      blocks: [
        { calls: [{ account: ctx.token.owner, to: ctx.token.address, data: transfer }] },
        {
          stateOverrides: [{ address: STRANGER, balance: 10n ** 18n }],
          calls: [{ to: ctx.token.address, data: balanceOf }, { account: STRANGER, to: ctx.token.address, data: transfer }],
        },
      ],
    });
    assert.equal(blocks.length, 2);
    assert.equal(blocks[0].calls[0].status, 'success');
    assert.equal(blocks[0].calls[0].logs.length, 1);
    assert.equal(BigInt(blocks[1].calls[0].data), 11n);
    assert.equal(blocks[1].calls[1].status, 'failure');
    assert.equal(blocks[1].number, blocks[0].number + 1n);
  },
  'viem: the pending block is head + 1': async (ctx) => {
    const pending = await ctx.publicClient.getBlock({ blockTag: 'pending' });
    const latest = await ctx.publicClient.getBlock({ blockTag: 'latest' });
    assert.ok(pending.number === latest.number + 1n || pending.number === latest.number + 2n);
  },
};
