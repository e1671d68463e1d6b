// The two backends of the client-conformance suite, started side by side: Anvil and `reponet-node dev`, each on
// port 0 with the port read back from its own "listening on" line (no port is ever picked free and then raced for).
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../../..');
export const ARTIFACTS = JSON.parse(readFileSync(join(ROOT, 'scripts/harness/fixtures/contracts.json'), 'utf8')).contracts;
// The first accounts of the standard test mnemonic: funded on Anvil, funded and allowed on the dev node.
export const DEV_KEYS = [
  '0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80',
  '0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d',
  '0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a',
  '0x7c852118294e51e653712a81e05800f419141751be58f605c371e15141b007a6',
  '0x47e179ec197488593b187f80a00eb0da91f1b9d0b13f8733639f19c30a34926a',
  '0x8b3a350cf5c34c9194ca85829a2df0ec3153be0318b5e2d3348e872092edffba',
  '0x92db14e403b83dfe3df233f83dfa3a0d7096f21ca9b0d6d6b8d88b2b4ec1564e',
  '0x4bbbf85ce3377467afe5d46f804f221813b2bb87f24d81f60f1fcdbf7cbf4356',
  '0xdbda1821b80551c9d65939329250298aa3472ba22feea921c0cf5d620ea67b97',
  '0x2a871d0798f97d79848a013d4936a73bf4cc922c825d33c1cf7073dff6d409c6',
];
const START_TIMEOUT_MS = 60_000;

function anvilBinary() {
  const dir = join(ROOT, 'node_modules/@foundry-rs');
  for (const entry of existsSync(dir) ? readdirSync(dir) : []) {
    const candidate = join(dir, entry, 'bin/anvil');
    if (entry.startsWith('anvil-') && existsSync(candidate)) return candidate;
  }
  return join(ROOT, 'node_modules/.bin/anvil');
}

function nodeCommand() {
  if (process.env.REPONET_NODE_CMD) return JSON.parse(process.env.REPONET_NODE_CMD);
  return [join(ROOT, '.venv/bin/python'), '-m', 'node.cli'];
}

// Starts `command`, resolves with its port once a line matches `pattern`; rejects if it exits or takes too long.
function launch(name, command, args, pattern, cwd) {
  const child = spawn(command, args, { cwd, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  return new Promise((resolvePort, reject) => {
    const timer = setTimeout(() => fail(new Error(`${name} did not start within ${START_TIMEOUT_MS} ms`)), START_TIMEOUT_MS);
    const fail = (error) => {
      clearTimeout(timer);
      stop(child);
      reject(new Error(`${error.message}\n${output.slice(-3000)}`));
    };
    const onData = (chunk) => {
      output += chunk.toString();
      const match = output.match(pattern);
      if (match) {
        clearTimeout(timer);
        resolvePort({ child, port: Number(match[1]), log: () => output });
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', (chunk) => { output += chunk.toString(); });
    child.on('exit', (code) => fail(new Error(`${name} exited with ${code}`)));
  });
}

export function stop(child) {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((done) => {
    const kill = setTimeout(() => { try { process.kill(-child.pid, 'SIGKILL'); } catch { /* gone */ } }, 10_000);
    child.once('exit', () => { clearTimeout(kill); done(); });
    try { process.kill(-child.pid, 'SIGTERM'); } catch { clearTimeout(kill); done(); }
  });
}

export async function startAnvil() {
  const { child, port, log } = await launch(
    'anvil', anvilBinary(), ['--host', '127.0.0.1', '--port', '0', '--accounts', '10'], /Listening on 127\.0\.0\.1:(\d+)/, ROOT,
  );
  return { name: 'anvil', child, log, http: `http://127.0.0.1:${port}`, ws: `ws://127.0.0.1:${port}`, cleanup: () => {} };
}

export async function startReponetNode() {
  const dir = mkdtempSync(join(tmpdir(), 'reponet-js-conformance-'));
  const [command, ...prefix] = nodeCommand();
  const args = [...prefix, 'dev', '--data-dir', join(dir, 'data'), '--rpc-port', '0', '--block-time', '0.1'];
  const { child, port, log } = await launch('reponet-node', command, args, /^listening on http:\/\/127\.0\.0\.1:(\d+)/m, ROOT);
  return {
    name: 'node', child, log, http: `http://127.0.0.1:${port}`, ws: `ws://127.0.0.1:${port}`,
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}
