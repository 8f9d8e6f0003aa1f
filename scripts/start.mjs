#!/usr/bin/env node
// The local stack launcher (`npm start`): starts the DynamoDB-compatible store
// (dynalite), the local KMS endpoint, the dev OIDC issuer, a local EVM node
// (anvil, unless LOCAL_CHAIN=0), the enclave process (simulated NSM) and the
// host, prints where each listens,
// restarts the enclave if it dies (the host reconnects and re-initialises it
// by itself), and stops everything on Ctrl-C. Data lives under .data/.
// Run after `npm run build` (npm start does both).
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
process.chdir(root);
const { LOCAL_KMS_CREDENTIALS, LOCAL_GUARD_TABLE, prepareLocalGuard } = await import('../devtools/dist/index.js');
const { ENCLAVE_PROCESS_ENV } = await import('../enclave/dist/process-env.js');

const env = { ...process.env };
const hostPort = env.HOST_PORT ?? '8080';
const enclavePort = env.ENCLAVE_PORT ?? '5005';
const kmsPort = env.LOCAL_KMS_PORT ?? '4599';
const dynamoPort = env.DYNAMODB_PORT ?? '8000';
const issuerPort = env.DEV_ISSUER_PORT ?? '9090';
const chainPort = env.LOCAL_CHAIN_PORT ?? '8545';
const solanaPort = env.LOCAL_SOLANA_PORT ?? '8899';
const localChain = env.LOCAL_CHAIN !== '0';
const shutdownTimeoutMs = Number(env.SHUTDOWN_TIMEOUT_MS ?? '10000');
// Where the local stack keeps its data (DATA_DIR; default .data).
const dataDir = env.DATA_DIR ?? '.data';
const anvilBin = join(root, 'node_modules', '.bin', 'anvil');
env.ENCLAVE_LISTEN ??= `tcp://127.0.0.1:${enclavePort}`;
env.ENCLAVE_ADDRESS ??= env.ENCLAVE_LISTEN;
env.ENCLAVE_PLATFORM ??= 'simulated';
// Development machines here run Node 20; the AWS SDK's notice that its 2027 releases need Node 22
// would otherwise be printed by every process. Production images run the current LTS.
env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED;
env.ENCLAVE_DEV_CA_DIR ??= join(dataDir, 'dev-ca');
env.LOCAL_KMS_DATA_DIR ??= join(dataDir, 'kms');
env.DYNAMODB_DATA_DIR ??= join(dataDir, 'dynamodb');
env.DEV_ISSUER_DATA_DIR ??= join(dataDir, 'dev-oidc');
env.LOCAL_SOLANA_DATA_DIR ??= join(dataDir, 'solana');
mkdirSync(dataDir, { recursive: true, mode: 0o700 });

/** The launcher's own log lines, in the format of every process (docs/configuration.md, README). */
function log(level, event, fields = {}) {
  console.error(JSON.stringify({ time: new Date().toISOString(), level, component: 'launcher', event, ...fields }));
}

/** @type {Map<string, import('node:child_process').ChildProcess>} */
const children = new Map();
let stopping = false;

function run(name, script, { restart, extraEnv = {}, command = process.execPath, args = [join(root, script)], quiet = false }) {
  // Each child in its own process group: a signal to the launcher's group (Ctrl-C, `kill -- -PGID`) reaches
  // only the launcher, which then stops the children in order (below).
  const child = spawn(command, args, { env: { ...env, ...extraEnv }, stdio: ['ignore', quiet ? 'ignore' : 'inherit', 'inherit'], detached: true });
  children.set(name, child);
  child.on('exit', (code, signal) => {
    children.delete(name);
    if (stopping) return;
    log('warn', 'exited', { process: name, how: String(signal ?? code) });
    if (restart) {
      log('info', 'restarting', { process: name, inMs: 1000 });
      setTimeout(() => !stopping && run(name, script, { restart, extraEnv, command, args, quiet }), 1000);
    } else {
      stop(1);
    }
  });
}

/** Stops one child: SIGTERM, then SIGKILL if it has not exited within `ms`. */
function stopChild(name, ms) {
  const child = children.get(name);
  if (!child) return Promise.resolve();
  return new Promise((resolve) => {
    const kill = setTimeout(() => child.kill('SIGKILL'), ms);
    child.once('exit', () => {
      clearTimeout(kill);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

/**
 * Graceful, in order: the host first (it answers 503 to new requests and lets those in flight finish),
 * then the enclave (it serves until the host has gone), then the chain, the issuer, KMS and storage last,
 * so that a request in flight when the signal came still finds everything it needs.
 */
async function stop(code = 0) {
  if (stopping) return;
  stopping = true;
  log('info', 'stopping');
  const grace = shutdownTimeoutMs + 2000;
  await stopChild('host', grace);
  await stopChild('enclave', grace);
  await Promise.all(['anvil', 'local-solana', 'dev-oidc', 'local-kms', 'dynamodb'].map((n) => stopChild(n, 5000)));
  process.exit(code);
}
process.on('exit', () => {
  for (const child of children.values()) child.kill('SIGKILL');
});

/** Resolves once something accepts TCP connections on the port. */
async function waitForPort(port, what) {
  for (let i = 0; i < 200 && !stopping; i++) {
    const ok = await new Promise((resolve) => {
      const s = connect(Number(port), '127.0.0.1');
      s.once('connect', () => (s.destroy(), resolve(true)));
      s.once('error', () => resolve(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`${what} did not come up on port ${port}`);
}

process.on('SIGINT', () => void stop(0));
process.on('SIGTERM', () => void stop(0));

try {
  run('dynamodb', 'devtools/dist/dynamo/main.js', { restart: false });
  // The host's demo page asks the dev issuer for tokens from the browser.
  run('dev-oidc', 'devtools/dist/oidc/main.js', {
    restart: false,
    extraEnv: { DEV_ISSUER_CORS_ORIGINS: `http://127.0.0.1:${hostPort},http://localhost:${hostPort}` },
  });
  if (localChain) {
    if (!existsSync(anvilBin)) throw new Error('anvil is not installed (npm package @foundry-rs/anvil-linux-amd64); set LOCAL_CHAIN=0 to run without a chain');
    mkdirSync(join(dataDir, 'anvil'), { recursive: true });
    run('anvil', '', {
      restart: false,
      command: anvilBin,
      args: ['--host', '127.0.0.1', '--port', chainPort, '--chain-id', '31337', '--state', join(dataDir, 'anvil', 'state.json'), '--silent'],
      quiet: true,
    });
    run('local-solana', 'devtools/dist/solana/main.js', { restart: false });
  }
  run('local-kms', 'devtools/dist/kms/main.js', { restart: false });
  await waitForPort(kmsPort, 'the local KMS');
  const keyFile = join(env.LOCAL_KMS_DATA_DIR, 'local-key.json');
  while (!existsSync(keyFile)) await new Promise((r) => setTimeout(r, 50));
  const { arn } = JSON.parse(readFileSync(keyFile, 'utf8'));

  run('enclave', 'enclave/dist/main.cjs', { restart: true, extraEnv: { ...ENCLAVE_PROCESS_ENV } });
  await waitForPort(enclavePort, 'the enclave');

  await waitForPort(dynamoPort, 'the DynamoDB-compatible store');
  // The enclave's guard table (attempt counters, blob versions) and its credentials, encrypted under the wallet key
  // as an operator does it in production. Dynalite enforces no IAM: locally the host could write this table.
  const guardCiphertext = await prepareLocalGuard({
    dynamoEndpoint: `http://127.0.0.1:${dynamoPort}`,
    kmsEndpoint: `http://127.0.0.1:${kmsPort}`,
    keyId: arn,
    kmsCredentials: LOCAL_KMS_CREDENTIALS,
  });
  await waitForPort(issuerPort, 'the dev OIDC issuer');
  if (localChain) {
    await waitForPort(chainPort, 'the local EVM node');
    await waitForPort(solanaPort, 'the local Solana endpoint');
  }
  // The chains the host reads and broadcasts to: the two local nodes (a deployment lists its own, with their tokens).
  const chains = localChain
    ? [
        { network: 'evm', chainId: 31337, name: 'Anvil (local)', rpcUrl: `http://127.0.0.1:${chainPort}`, nativeSymbol: 'ETH', tokens: [] },
        { network: 'solana', cluster: 'localnet', name: 'LiteSVM (local)', rpcUrl: `http://127.0.0.1:${solanaPort}`, nativeSymbol: 'SOL', tokens: [] },
      ]
    : [];
  run('host', 'host/dist/main.js', {
    restart: false,
    extraEnv: {
      DYNAMODB_ENDPOINT: `http://127.0.0.1:${dynamoPort}`,
      AUTH_DEV_ISSUER: `http://127.0.0.1:${issuerPort}`,
      HOST_SIGNING_KEY_FILE: join(dataDir, 'host', 'signing-key.json'),
      KMS_REGION: 'us-east-1',
      KMS_ENDPOINT: `http://127.0.0.1:${kmsPort}`,
      KMS_KEY_ID: arn,
      AWS_ACCESS_KEY_ID: LOCAL_KMS_CREDENTIALS.accessKeyId,
      AWS_SECRET_ACCESS_KEY: LOCAL_KMS_CREDENTIALS.secretAccessKey,
      GUARD_TABLE: LOCAL_GUARD_TABLE,
      GUARD_ENDPOINT: `http://127.0.0.1:${dynamoPort}`,
      GUARD_CREDENTIALS_CIPHERTEXT: guardCiphertext,
      ...(localChain ? { LOCAL_CHAIN_RPC: `http://127.0.0.1:${chainPort}`, LOCAL_CHAIN_ID: '31337', CHAINS: JSON.stringify(chains) } : {}),
    },
  });
  await waitForPort(hostPort, 'the host');

  console.log(`
Enclave Wallet local stack (development: simulated NSM, local KMS)
  host API      http://127.0.0.1:${hostPort}   (API reference: /docs, /openapi.json)
  demo page     http://127.0.0.1:${hostPort}/demo   (log in, PIN pad, sign, send on the local chain)
  enclave       ${env.ENCLAVE_LISTEN}
  dev OIDC      http://127.0.0.1:${issuerPort}   (POST /token { "email" } → { "id_token" })
  DynamoDB      http://127.0.0.1:${dynamoPort}   (dynalite: wallets, and the enclave's guard table ${LOCAL_GUARD_TABLE})
  local KMS     http://127.0.0.1:${kmsPort}   (wallet key ${arn})
  EVM node      ${localChain ? `http://127.0.0.1:${chainPort}   (anvil, chain 31337)` : 'off (LOCAL_CHAIN=0)'}
  Solana        ${localChain ? `http://127.0.0.1:${solanaPort}   (LiteSVM JSON-RPC, cluster localnet)` : 'off (LOCAL_CHAIN=0)'}
  data          ${resolve(root, dataDir)}
Try it: npm run demo
Press Ctrl-C to stop.
`);
} catch (err) {
  log('error', 'start_failed', { reason: err.message });
  stop(1);
}
