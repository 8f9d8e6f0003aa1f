/**
 * The local stack's launcher (`scripts/start.mjs`, every process real) as a new user meets it (issue 23):
 * a port already taken, a second start while a stack runs, the launcher killed with SIGKILL (and npm, its parent,
 * killed with SIGKILL) and a start again, and a data folder whose KMS key was removed while wallets exist. Also
 * the host alone on a taken port. Needs the build (`npm test` builds first).
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, readlinkSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { connect, createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createClient } from '@enclave-wallet/client';
import { freePort } from '../support/ports.js';

const repo = fileURLToPath(new URL('../../', import.meta.url));

interface Ports {
  HOST_PORT: number;
  ENCLAVE_PORT: number;
  LOCAL_KMS_PORT: number;
  DYNAMODB_PORT: number;
  DEV_ISSUER_PORT: number;
  LOCAL_CHAIN_PORT: number;
  LOCAL_SOLANA_PORT: number;
  FRAME_PORT: number;
}
const newPorts = async (): Promise<Ports> => ({
  HOST_PORT: await freePort(),
  ENCLAVE_PORT: await freePort(),
  LOCAL_KMS_PORT: await freePort(),
  DYNAMODB_PORT: await freePort(),
  DEV_ISSUER_PORT: await freePort(),
  LOCAL_CHAIN_PORT: await freePort(),
  LOCAL_SOLANA_PORT: await freePort(),
  FRAME_PORT: await freePort(),
});

const baseEnv = (): NodeJS.ProcessEnv =>
  Object.fromEntries(
    Object.entries(process.env).filter(
      ([k]) =>
        !['ENCLAVE_LISTEN', 'ENCLAVE_ADDRESS', 'HOST_PUBLIC_URL', 'ENCLAVE_NODE', 'HOST_NODE', 'ENCLAVE_CPUS', 'npm_lifecycle_event'].includes(k) &&
        !k.startsWith('JEST'),
    ),
  );

interface Run {
  proc: ChildProcess;
  output: () => string;
  exited: Promise<number | null>;
}
const started: ChildProcess[] = [];

/** package.json's `npm start`, without its build. */
function startScript(): string {
  const script = (JSON.parse(readFileSync(join(repo, 'package.json'), 'utf8')) as { scripts: { start: string } }).scripts.start;
  expect(script.startsWith('npm run build && ')).toBe(true);
  return script.slice('npm run build && '.length);
}

/** Runs `node scripts/start.mjs` (or, `asNpm`, package.json's start script under a stand-in for npm) in its own process group. */
function launch(ports: Ports, dataDir: string, extra: NodeJS.ProcessEnv = {}, asNpm = false): Run {
  const env = {
    ...baseEnv(),
    ...Object.fromEntries(Object.entries(ports).map(([k, v]) => [k, String(v)])),
    DATA_DIR: dataDir,
    SHUTDOWN_TIMEOUT_MS: '3000',
    LOG_LEVEL: 'warn',
    ...extra,
  };
  // npm runs package.json's start script as `sh -c "<script>"` in the repository, with npm_lifecycle_event set; so does
  // this stand-in, with the script as it is there (its build step left out: the suite is built).
  const args = asNpm
    ? [
        '-e',
        `require('node:child_process').spawn('sh', ['-c', ${JSON.stringify(startScript())}], { cwd: ${JSON.stringify(repo)}, stdio: 'inherit', env: { ...process.env, npm_lifecycle_event: 'start' } }); setInterval(() => {}, 1000);`,
      ]
    : [join(repo, 'scripts/start.mjs')];
  const proc = spawn(process.execPath, args, { env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  started.push(proc);
  let out = '';
  proc.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  proc.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)));
  return { proc, output: () => out, exited };
}

const listening = (port: number): Promise<boolean> =>
  new Promise((resolve) => {
    const s = connect(port, '127.0.0.1');
    s.once('connect', () => (s.destroy(), resolve(true)));
    s.once('error', () => resolve(false));
  });

async function waitFor(what: string, check: () => Promise<boolean>, ms: number): Promise<void> {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`timed out waiting for ${what}`);
}
const ready = (ports: Ports): Promise<void> =>
  waitFor(
    'the stack',
    () =>
      fetch(`http://127.0.0.1:${ports.HOST_PORT}/readyz`).then(
        (r) => r.status === 200,
        () => false,
      ),
    60_000,
  );
const openPorts = async (ports: Ports, names: Array<keyof Ports> = Object.keys(ports) as Array<keyof Ports>): Promise<string[]> => {
  const open: string[] = [];
  for (const n of names) if (await listening(ports[n])) open.push(`${n}=${ports[n]}`);
  return open;
};

/** An SDK client of the stack on `ports` (its dev root from `dir`), logged in as `email` through the dev issuer. */
async function loggedIn(ports: Ports, dir: string, email: string): Promise<ReturnType<typeof createClient>> {
  const answer = await fetch(`http://127.0.0.1:${ports.DEV_ISSUER_PORT}/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email }),
  });
  const { id_token: idToken } = (await answer.json()) as { id_token: string };
  const client = createClient({ baseUrl: `http://127.0.0.1:${ports.HOST_PORT}`, root: new Uint8Array(readFileSync(join(dir, 'dev-ca', 'root.der'))) });
  await client.login(idToken);
  return client;
}

afterAll(() => {
  for (const p of started) {
    try {
      process.kill(-p.pid!, 'SIGKILL');
    } catch {
      // gone
    }
  }
});

test('a port already taken: refused before anything starts, naming the port and the process that holds it', async () => {
  const ports = await newPorts();
  const squatter: Server = createServer();
  await new Promise<void>((r) => squatter.listen(ports.HOST_PORT, '127.0.0.1', r));
  try {
    const run = launch(ports, mkdtempSync(join(tmpdir(), 'launcher-')), { LOCAL_CHAIN: '0' });
    expect(await run.exited).toBe(1);
    expect(run.output()).toContain(`"event":"port_taken"`);
    expect(run.output()).toContain(`port ${ports.HOST_PORT} (HOST_PORT, the host API) is taken by pid ${process.pid}`);
    expect(run.output()).not.toContain('Try it');
    expect(await openPorts(ports, ['ENCLAVE_PORT', 'LOCAL_KMS_PORT', 'DYNAMODB_PORT', 'DEV_ISSUER_PORT'])).toEqual([]);
  } finally {
    squatter.close();
  }
}, 30_000);

test('an APP_ORIGINS the frame would refuse (a trailing slash) is refused before anything starts, saying why', async () => {
  const ports = await newPorts();
  const run = launch(ports, mkdtempSync(join(tmpdir(), 'launcher-')), { LOCAL_CHAIN: '0', APP_ORIGINS: 'http://localhost:5173/' });
  expect(await run.exited).toBe(1);
  const line = run
    .output()
    .split('\n')
    .find((l) => l.includes('"event":"bad_setting"'));
  expect(JSON.parse(line!)).toMatchObject({
    variable: 'APP_ORIGINS',
    reason: expect.stringMatching(/^APP_ORIGINS: not an origin: "http:\/\/localhost:5173\/"/),
  });
  expect(await openPorts(ports)).toEqual([]);
}, 30_000);

test('the host on a taken port logs EADDRINUSE and the port, and exits 1 (not "listening", not 0)', async () => {
  const port = await freePort();
  const squatter: Server = createServer();
  await new Promise<void>((r) => squatter.listen(port, '127.0.0.1', r));
  try {
    const dir = mkdtempSync(join(tmpdir(), 'host-'));
    const host = spawn(process.execPath, [join(repo, 'host/dist/main.js')], {
      env: { ...baseEnv(), HOST_PORT: String(port), HOST_SIGNING_KEY_FILE: join(dir, 'key.json'), DYNAMODB_ENDPOINT: '', KMS_KEY_ID: '', LOG_LEVEL: 'info' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    started.push(host);
    let out = '';
    host.stdout.on('data', (d: Buffer) => (out += d.toString()));
    host.stderr.on('data', (d: Buffer) => (out += d.toString()));
    const code = await new Promise<number | null>((resolve) => host.once('exit', resolve));
    expect(code).toBe(1);
    const line = out.split('\n').find((l) => l.includes('listen failed'));
    expect(line).toBeDefined();
    expect(JSON.parse(line!)).toMatchObject({ level: 'error', code: 'EADDRINUSE', port });
    expect(out).not.toContain('"msg":"listening"');
  } finally {
    squatter.close();
  }
}, 30_000);

test('started twice, then SIGKILL to the launcher, then to npm above it: a clear refusal, no orphan, and a start again works', async () => {
  const ports = await newPorts();
  const dir = mkdtempSync(join(tmpdir(), 'launcher-'));
  const first = launch(ports, dir);
  await ready(ports);
  // The banner follows the launcher's own readiness check, a moment after /readyz first answers 200.
  await waitFor('the banner', async () => first.output().includes('Try it: npm run demo'), 30_000);
  // The banner gives the dev root's fingerprint, which an app outside the repository pins (client/README.md).
  const devRootSha256 = createHash('sha256')
    .update(readFileSync(join(dir, 'dev-ca', 'root.der')))
    .digest('hex');
  expect(first.output()).toContain(`dev root      sha256 ${devRootSha256}`);
  // Built as npm start builds: nothing the browser loads is said to be missing.
  expect(first.output()).not.toContain('NOT BUILT');
  expect(await openPorts(ports)).toEqual(Object.keys(ports).map((n) => `${n}=${ports[n as keyof Ports]}`));

  // The same command again: the same data folder.
  const again = launch(ports, dir);
  expect(await again.exited).toBe(1);
  expect(again.output()).toContain(`a stack is already running on this data folder (${dir}): launcher pid ${first.proc.pid}`);
  // Another data folder, the same ports: the ports say whose they are.
  const other = launch(ports, mkdtempSync(join(tmpdir(), 'launcher-')));
  expect(await other.exited).toBe(1);
  expect(other.output()).toContain(`a stack is already running: launcher pid ${first.proc.pid}`);
  expect(other.output()).toMatch(new RegExp(`${ports.HOST_PORT} \\(HOST_PORT, the host API\\) is taken by pid \\d+: \\S*node host/dist/main.js`));

  // SIGKILL to the launcher alone: its seven children stop (the watchdog), and the same start works again.
  process.kill(first.proc.pid!, 'SIGKILL');
  await waitFor('every port closed', async () => (await openPorts(ports)).length === 0, 30_000);
  const third = launch(ports, dir, {}, true);
  await ready(ports);
  await waitFor('the banner', async () => third.output().includes('Try it: npm run demo'), 30_000);

  // SIGKILL to the npm stand-in above the start script's shell: the launcher sees npm go and stops everything.
  process.kill(third.proc.pid!, 'SIGKILL');
  await waitFor('every port closed', async () => (await openPorts(ports)).length === 0, 30_000);
}, 180_000);

test('a data folder whose KMS key was removed while wallets exist: refused, saying which folder lost what', async () => {
  const ports = await newPorts();
  const dir = mkdtempSync(join(tmpdir(), 'launcher-'));
  const first = launch(ports, dir, { LOCAL_CHAIN: '0' });
  await ready(ports);
  const client = await loggedIn(ports, dir, 'lost-key@example.com');
  await client.createWallet('493817');
  process.kill(-first.proc.pid!, 'SIGTERM');
  expect(await first.exited).toBe(0);

  rmSync(join(dir, 'kms'), { recursive: true });
  const second = launch(ports, dir, { LOCAL_CHAIN: '0' });
  expect(await second.exited).toBe(1);
  expect(second.output()).toContain('"event":"kms_key_lost"');
  expect(second.output()).toContain(`the data folder ${dir} lost its KMS wallet key: ${join(dir, 'kms', 'local-key.json')}`);
  expect(second.output()).toContain(`${join(dir, 'dynamodb')} holds 1 wallet sealed under it`);
  expect(second.output()).not.toContain('Try it');
  expect(await openPorts(ports, ['HOST_PORT', 'ENCLAVE_PORT', 'LOCAL_KMS_PORT', 'DYNAMODB_PORT', 'DEV_ISSUER_PORT'])).toEqual([]);

  // A data folder without wallets may get a new key: the same folder after the wallets went too.
  rmSync(join(dir, 'dynamodb'), { recursive: true });
  const fresh = launch(ports, dir, { LOCAL_CHAIN: '0' });
  await ready(ports);
  process.kill(-fresh.proc.pid!, 'SIGTERM');
  expect(await fresh.exited).toBe(0);
}, 120_000);

/** The pids of the launcher's processes running `script` whose environment has `variable=port`. */
function pidsOf(script: string, variable: string, port: number): number[] {
  const out: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (!readFileSync(`/proc/${entry}/cmdline`, 'utf8').includes(script)) continue;
      if (readFileSync(`/proc/${entry}/environ`, 'utf8').split('\0').includes(`${variable}=${port}`)) out.push(Number(entry));
    } catch {
      // gone, or not ours to read
    }
  }
  return out;
}
const enclavePids = (port: number): number[] => pidsOf('enclave/dist/main.cjs', 'ENCLAVE_PORT', port);

const linuxX64 = process.platform === 'linux' && process.arch === 'x64';
// The image's Node, installed (about 190 MB on a clean checkout) before the test, so that the launcher's own install
// does not run inside the stack's start-up deadline.
let imageNodePath = '';
beforeAll(async () => {
  if (!linuxX64) return;
  const { imageNode } = (await import(join(repo, 'scripts/image-node.mjs'))) as { imageNode: () => { path: string } };
  imageNodePath = imageNode().path;
}, 300_000);
(linuxX64 ? test : test.skip)(
  'the enclave and the host run on the image\u2019s Node 24 by default; ENCLAVE_NODE and HOST_NODE each move their own process, and a wallet works; what is not a Node that runs is refused before anything starts',
  async () => {
    expect(imageNodePath).toContain(join(repo, 'scripts/node24/installs/'));
    const image = realpathSync(imageNodePath);
    const current = realpathSync(process.execPath); // the launcher's, which the tests start
    expect(current).not.toBe(image);
    // By default both on the image's Node, as a deployment runs them; each variable moves its own process and no
    // other: the enclave alone, then the host alone; and a path is run as given, so a wrapper script keeps its flags.
    const wrapper = join(mkdtempSync(join(tmpdir(), 'launcher-node-')), 'node-with-flags.sh');
    writeFileSync(wrapper, `#!/bin/sh\nexec ${JSON.stringify(image)} --max-semi-space-size=2 "$@"\n`, { mode: 0o755 });
    let dir = '';
    for (const [variable, setting, enclaveExe, hostExe, hostFlag] of [
      ['ENCLAVE_NODE', '', image, image, undefined],
      ['ENCLAVE_NODE', 'current', current, image, undefined],
      ['HOST_NODE', 'current', image, current, undefined],
      ['HOST_NODE', wrapper, image, image, '--max-semi-space-size=2'],
    ] as const) {
      const ports = await newPorts();
      dir = mkdtempSync(join(tmpdir(), 'launcher-'));
      const run = launch(ports, dir, { LOCAL_CHAIN: '0', ...(setting ? { [variable]: setting } : {}) });
      await ready(ports);
      const [enclavePid] = enclavePids(ports.ENCLAVE_PORT);
      const [hostPid] = pidsOf('host/dist/main.js', 'HOST_PORT', ports.HOST_PORT);
      expect([enclavePid, hostPid].map((pid) => readlinkSync(`/proc/${pid}/exe`))).toEqual([enclaveExe, hostExe]);
      if (hostFlag) expect(readFileSync(`/proc/${hostPid}/cmdline`, 'utf8').split('\0')).toContain(hostFlag);
      if (!setting) {
        await waitFor('the banner', async () => run.output().includes('Try it: npm run demo'), 30_000);
        expect(run.output()).toMatch(/\(Node v24\.\d+\.\d+ with the image's V8 flags, as in the image; the host on Node v24\.\d+\.\d+\)/);
      }
      expect(execFileSync(image, ['--version'], { encoding: 'utf8' })).toMatch(/^v24\./);
      // A wallet made and used through them.
      const client = await loggedIn(ports, dir, `image-node-${variable.toLowerCase()}-${hostFlag ? 'wrapped' : setting || 'default'}@example.com`);
      const wallet = await client.createWallet('493817');
      expect(wallet.accounts.length).toBeGreaterThan(0);
      process.kill(-run.proc.pid!, 'SIGTERM');
      expect(await run.exited).toBe(0);
    }

    // What is not a Node that runs is refused before anything starts: no file, a directory, a program that is not node.
    const notNode = join(dir, 'not-node.sh');
    writeFileSync(notNode, '#!/bin/sh\necho not node\n', { mode: 0o755 });
    for (const [variable, bad, why] of [
      ['ENCLAVE_NODE', join(dir, 'no-such-node'), 'ENOENT'],
      ['ENCLAVE_NODE', dir, 'EACCES'],
      ['ENCLAVE_NODE', notNode, 'it answered "not node", exit 0'],
      ['HOST_NODE', notNode, 'it answered "not node", exit 0'],
    ]) {
      const otherPorts = await newPorts();
      const refused = launch(otherPorts, mkdtempSync(join(tmpdir(), 'launcher-')), { LOCAL_CHAIN: '0', [variable!]: bad });
      expect(await refused.exited).toBe(1);
      const line = refused
        .output()
        .split('\n')
        .find((l) => l.includes(`"event":"${variable!.toLowerCase()}"`));
      expect(line).toBeDefined();
      expect((JSON.parse(line!) as { reason: string }).reason).toBe(
        `${variable}=${bad}: not a Node 20 or newer that runs (${why}); use current, image or the path of a node binary`,
      );
      expect(await openPorts(otherPorts)).toEqual([]);
    }
  },
  180_000,
);

test('where the image’s Node cannot be installed (no registry), both sides run on this Node after one attempt, with a warning each and the banner saying why; ENCLAVE_NODE=image is refused', async () => {
  const scratch = mkdtempSync(join(tmpdir(), 'no-registry-'));
  // No install yet (IMAGE_NODE_DIR: an empty folder), no cached tarball, and a registry that refuses connections.
  const offline = { IMAGE_NODE_DIR: join(scratch, 'installs'), npm_config_registry: 'http://127.0.0.1:9/', npm_config_cache: join(scratch, 'npm-cache') };
  const ports = await newPorts();
  const dir = mkdtempSync(join(tmpdir(), 'launcher-'));
  const run = launch(ports, dir, { LOCAL_CHAIN: '0', ...offline });
  await ready(ports);
  await waitFor('the banner', async () => run.output().includes('Try it: npm run demo'), 30_000);
  const out = run.output();
  expect(out.split("installing the enclave image's Node").length - 1).toBe(1);
  for (const event of ['enclave_node', 'host_node']) {
    const line = out.split('\n').find((l) => l.includes(`"event":"${event}"`));
    expect(JSON.parse(line!)).toMatchObject({
      level: 'warn',
      reason: expect.stringContaining("the image's Node could not be installed into scripts/node24: npm ci"),
    });
  }
  const note = "the image's Node could not be installed: see the warning above";
  expect(out).toContain(`(Node ${process.version} (${note}); the host on Node ${process.version} (${note}))`);
  const [enclavePid] = enclavePids(ports.ENCLAVE_PORT);
  expect(readlinkSync(`/proc/${enclavePid}/exe`)).toBe(realpathSync(process.execPath));
  process.kill(-run.proc.pid!, 'SIGTERM');
  expect(await run.exited).toBe(0);

  const otherPorts = await newPorts();
  const refused = launch(otherPorts, mkdtempSync(join(tmpdir(), 'launcher-')), { LOCAL_CHAIN: '0', ENCLAVE_NODE: 'image', ...offline });
  expect(await refused.exited).toBe(1);
  const line = refused
    .output()
    .split('\n')
    .find((l) => l.includes('"event":"enclave_node"'));
  expect(JSON.parse(line!).reason).toMatch(/^ENCLAVE_NODE=image: the image's Node could not be installed into scripts\/node24: npm ci/);
  expect(await openPorts(otherPorts)).toEqual([]);
}, 180_000);

test('RATE_LIMITS=off: the banner says so, and one user signs past the enclave’s default cap of 1,000 live envelopes, 32 at a time, with no error', async () => {
  const ports = await newPorts();
  const dir = mkdtempSync(join(tmpdir(), 'launcher-'));
  const run = launch(ports, dir, { LOCAL_CHAIN: '0', RATE_LIMITS: 'off' });
  await ready(ports);
  await waitFor('the banner', async () => run.output().includes('Try it: npm run demo'), 30_000);
  expect(run.output()).toMatch(/rate limits +off \(RATE_LIMITS=off\); the enclave holds up to 100,000 live envelopes a user/);
  const client = await loggedIn(ports, dir, 'one-user-load@example.com');
  const wallet = await client.createWallet('493817');
  const signatures = new Set<string>();
  const failures: unknown[] = [];
  let next = 0;
  const TOTAL = 1_050;
  await Promise.all(
    Array.from({ length: 32 }, async () => {
      while (next < TOTAL) {
        const i = next++;
        await client.signEvmMessage(wallet.walletId, `load ${i}`, { pin: '493817' }).then(
          (s) => signatures.add(s),
          (e: unknown) => failures.push(e),
        );
      }
    }),
  );
  expect(failures).toEqual([]);
  expect(signatures.size).toBe(TOTAL);
  process.kill(-run.proc.pid!, 'SIGTERM');
  expect(await run.exited).toBe(0);
}, 180_000);
