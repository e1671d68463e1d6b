// ethers.js v6, unmodified, against a running node: deploy, call, send, custom-error decoding, and events
// and blocks over WebSocket. Prints one JSON object on stdout; exit code 0 only if every step passed.
//
// usage: node ethers_smoke.mjs --http URL --ws URL --key 0xPRIVATEKEY --artifacts contracts.json [--timeout-ms N]
import { readFileSync } from 'node:fs';
import { ContractFactory, Contract, JsonRpcProvider, WebSocketProvider, Wallet } from 'ethers';

function parseArgs(argv) {
  const args = {};
  for (let i = 0; i < argv.length; i += 2) {
    if (!argv[i].startsWith('--') || argv[i + 1] === undefined) throw new Error(`bad argument ${argv[i]}`);
    args[argv[i].slice(2)] = argv[i + 1];
  }
  for (const required of ['http', 'ws', 'key', 'artifacts']) {
    if (!args[required]) throw new Error(`missing --${required}`);
  }
  return args;
}

function within(ms, promise, what) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

function check(condition, message) {
  if (!condition) throw new Error(`check failed: ${message}`);
}

async function main() {
  const args = parseArgs(process.argv.slice(2));
  const timeoutMs = Number(args['timeout-ms'] ?? 30000);
  const { contracts } = JSON.parse(readFileSync(args.artifacts, 'utf8'));
  const artifact = contracts.TestToken;
  const result = { steps: [] };
  const step = (name) => result.steps.push(name);

  const http = new JsonRpcProvider(args.http, undefined, { pollingInterval: 100 });
  const ws = new WebSocketProvider(args.ws);
  try {
    const wallet = new Wallet(args.key, http);
    const network = await http.getNetwork();
    result.chainId = Number(network.chainId);
    result.wsChainId = Number((await ws.getNetwork()).chainId);
    check(result.chainId === result.wsChainId, 'HTTP and WebSocket report the same chain id');
    result.startBlock = await http.getBlockNumber();
    step('network');

    const factory = new ContractFactory(artifact.abi, artifact.bytecode, wallet);
    const supply = 10n ** 24n;
    const deployed = await within(timeoutMs, factory.deploy(supply).then((c) => c.waitForDeployment()), 'deploy');
    result.address = await deployed.getAddress();
    result.deployHash = deployed.deploymentTransaction().hash;
    step('deploy');

    const token = new Contract(result.address, artifact.abi, wallet);
    result.supply = (await token.totalSupply()).toString();
    result.symbol = await token.symbol();
    result.ownerBalance = (await token.balanceOf(wallet.address)).toString();
    check(result.supply === supply.toString(), 'totalSupply');
    check(result.ownerBalance === supply.toString(), 'balanceOf(deployer)');
    step('call');

    const stranger = Wallet.createRandom();
    try {
      const readOnly = new Contract(result.address, artifact.abi, http);
      await readOnly.transfer.staticCall(wallet.address, 1n, { from: stranger.address });
      throw new Error('transfer from an empty account should revert');
    } catch (error) {
      result.revertCode = error.code;
      result.revertMessage = error.shortMessage ?? String(error);
      result.revertName = error.revert?.name ?? null;
      result.revertArgs = error.revert?.args?.map((x) => x.toString()) ?? null;
    }
    check(result.revertName === 'TestTokenInsufficientBalance', `custom error decoded (${result.revertMessage})`);
    step('revert');

    const wsToken = new Contract(result.address, artifact.abi, ws);
    const recipient = Wallet.createRandom().address;
    let resolveEvent;
    const seenEvent = new Promise((resolve) => {
      resolveEvent = resolve;
    });
    await wsToken.on(wsToken.filters.Transfer(wallet.address, recipient), (...args) => {
      // The last argument is always the ContractEventPayload; its args are the decoded event.
      const payload = args[args.length - 1];
      const [from, to, value] = payload.args;
      resolveEvent({ from, to, value: value.toString(), txHash: payload.log.transactionHash });
    });
    let resolveBlock;
    const seenBlock = new Promise((resolve) => {
      resolveBlock = resolve;
    });
    await ws.on('block', (number) => resolveBlock(number));
    // Let the subscriptions reach the node before the transaction that must trigger them.
    await new Promise((resolve) => setTimeout(resolve, 300));

    const tx = await token.transfer(recipient, 42n);
    result.transferHash = tx.hash;
    const receipt = await within(timeoutMs, tx.wait(), 'transfer receipt');
    check(receipt.status === 1, 'transfer succeeded');
    result.transferBlock = receipt.blockNumber;
    result.recipientBalance = (await token.balanceOf(recipient)).toString();
    check(result.recipientBalance === '42', 'recipient balance after transfer');
    const parsed = receipt.logs.map((log) => token.interface.parseLog(log)).filter(Boolean);
    check(parsed.length === 1 && parsed[0].name === 'Transfer', 'receipt carries the Transfer event');
    step('send');

    result.event = await within(timeoutMs, seenEvent, 'Transfer event over WebSocket');
    check(result.event.txHash === tx.hash && result.event.value === '42', 'event matches the transfer');
    result.wsBlock = await within(timeoutMs, seenBlock, 'a block over WebSocket');
    check(result.wsBlock > result.startBlock, 'new block seen over WebSocket');
    step('events');

    // A plain value transfer signed and sent over the WebSocket provider alone.
    const wsWallet = new Wallet(args.key, ws);
    const payee = Wallet.createRandom().address;
    const valueTx = await wsWallet.sendTransaction({ to: payee, value: 3n });
    // ethers caches each RPC answer for 250 ms (cacheTimeout): when a block is sealed within 250 ms of the
    // first receipt check and no later block follows (our node makes no empty blocks), wait() never asks
    // again. Record that instead of hanging, then confirm the receipt over HTTP.
    const wsWaitStarted = Date.now();
    let valueReceipt;
    try {
      valueReceipt = await within(Math.min(timeoutMs, 5000), valueTx.wait(), 'value transfer receipt over WebSocket');
      result.wsWaitStalled = false;
    } catch (error) {
      result.wsWaitStalled = true;
      valueReceipt = await within(timeoutMs, http.waitForTransaction(valueTx.hash), 'value transfer receipt over HTTP');
    }
    result.wsWaitMs = Date.now() - wsWaitStarted;
    check(valueReceipt.status === 1, 'value transfer over WebSocket succeeded');
    result.payeeBalance = (await ws.getBalance(payee)).toString();
    check(result.payeeBalance === '3', 'payee balance over WebSocket');
    const feeData = await http.getFeeData();
    result.gasPrice = feeData.gasPrice?.toString() ?? null;
    result.maxFeePerGas = feeData.maxFeePerGas?.toString() ?? null;
    step('ws-send');

    const logs = await http.getLogs({ address: result.address, fromBlock: receipt.blockNumber, toBlock: receipt.blockNumber });
    check(logs.some((log) => log.transactionHash === tx.hash), 'getLogs finds the transfer');
    const block = await http.getBlock(receipt.blockNumber);
    check(block.hash === receipt.blockHash && block.transactions.includes(tx.hash), 'block holds the transfer');
    step('logs');
    await wsToken.removeAllListeners();
    await ws.removeAllListeners();
    result.ok = true;
  } finally {
    http.destroy();
    await ws.destroy();
  }
  return result;
}

main().then(
  (result) => {
    process.stdout.write(JSON.stringify(result) + '\n');
    process.exit(0);
  },
  (error) => {
    process.stdout.write(JSON.stringify({ ok: false, error: String(error?.stack ?? error) }) + '\n');
    process.exit(1);
  },
);
