// Client conformance, side by side: every check runs with ethers.js v6 and viem (pinned in package-lock.json)
// against Anvil and `reponet-node dev` started for this run. A check that passes on Anvil and fails on our node
// fails the suite; one that fails on Anvil too is reported and skipped (Anvil is the reference, not the target).
//
// usage: node --test tests/node/js/conformance/   (REPONET_NODE_CMD='["python","-m","node.cli"]' to pick the node;
//        CONFORMANCE_REPORT=path.json to write each check's outcome on both backends)
import { writeFileSync } from 'node:fs';
import { after, before, test } from 'node:test';
import { startAnvil, startReponetNode, stop } from './backends.mjs';
import { eventChecks } from './checks_events.mjs';
import { rpcChecks } from './checks_rpc.mjs';
import { sendChecks } from './checks_sends.mjs';
import { makeContext, within } from './context.mjs';

const CHECK_TIMEOUT_MS = 60_000;
const backends = [];
const contexts = {};
const report = [];

before(async () => {
  const started = await Promise.allSettled([startAnvil(), startReponetNode()]);
  for (const outcome of started) if (outcome.status === 'fulfilled') backends.push(outcome.value);
  const failed = started.find((outcome) => outcome.status === 'rejected');
  if (failed) throw failed.reason;
  for (const backend of backends) contexts[backend.name] = await makeContext(backend);
}, { timeout: 120_000 });

after(async () => {
  for (const backend of backends) {
    await stop(backend.child);
    backend.cleanup();
  }
  if (process.env.CONFORMANCE_REPORT) writeFileSync(process.env.CONFORMANCE_REPORT, JSON.stringify(report, null, 2));
});

async function outcome(name, ctx, check) {
  try {
    await within(check(ctx), `${name} on ${ctx.name}`, CHECK_TIMEOUT_MS);
    return { ok: true };
  } catch (error) {
    return { ok: false, error: String(error?.shortMessage ?? error?.message ?? error).slice(0, 500) };
  }
}

for (const [name, check] of Object.entries({ ...sendChecks, ...eventChecks, ...rpcChecks })) {
  test(name, { timeout: 2 * CHECK_TIMEOUT_MS + 10_000 }, async (t) => {
    const anvil = await outcome(name, contexts.anvil, check);
    const node = await outcome(name, contexts.node, check);
    report.push({ check: name, anvil, node });
    t.diagnostic(`anvil: ${anvil.ok ? 'pass' : `FAIL ${anvil.error}`}`);
    t.diagnostic(`node: ${node.ok ? 'pass' : `FAIL ${node.error}`}`);
    if (!anvil.ok && !node.ok) {
      t.skip(`fails on Anvil too: ${anvil.error}`);
      return;
    }
    if (!node.ok) throw new Error(`passes on Anvil, fails on reponet-node: ${node.error}`);
  });
}
