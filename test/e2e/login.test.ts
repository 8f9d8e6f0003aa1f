/**
 * docs/login.md "Try two issuers locally" run as written (issue 23 §3): a second dev issuer under another issuer
 * URL (127.0.0.2, a path, a trailing slash) and audience, the real launcher with it in AUTH_ISSUERS beside the
 * dev issuer; then the doc's checks in bash (curl, jq, node), each printed line compared with the doc's `# →`
 * line (`…`: any text). Only the ports and the folder are the test's, and `npm start` runs without its build
 * step (`node scripts/start.mjs`: the suite is built). Needs the build.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from '../support/ports.js';

const repo = fileURLToPath(new URL('../../', import.meta.url));
const doc = readFileSync(join(repo, 'docs/login.md'), 'utf8');
const section = doc.slice(doc.indexOf('## Try two issuers locally'), doc.indexOf('## In production'));
const [startBlock, checkBlock] = [...section.matchAll(/```sh\n([\s\S]*?)```/g)].map((m) => m[1]!);

let stack: ChildProcess | undefined;
let dir = '';
let output = '';
const ports = { HOST_PORT: 0, DEV_ISSUER_PORT: 0, ENCLAVE_PORT: 0, LOCAL_KMS_PORT: 0, DYNAMODB_PORT: 0, FRAME_PORT: 0 };
let secondPort = 0;

const ours = (text: string): string =>
  text
    .replaceAll('/tmp/ew-login', dir)
    .replaceAll('9191', String(secondPort))
    .replaceAll('9090', String(ports.DEV_ISSUER_PORT))
    .replaceAll('8080', String(ports.HOST_PORT))
    .replace(/\bnpm start$/m, 'node scripts/start.mjs');

beforeAll(async () => {
  for (const k of Object.keys(ports) as Array<keyof typeof ports>) ports[k] = await freePort();
  secondPort = await freePort();
  dir = mkdtempSync(join(tmpdir(), 'ew-login-'));
  const env = Object.fromEntries(
    Object.entries(process.env).filter(
      ([k]) => !['ENCLAVE_LISTEN', 'ENCLAVE_ADDRESS', 'HOST_PUBLIC_URL', 'npm_lifecycle_event'].includes(k) && !k.startsWith('JEST'),
    ),
  );
  stack = spawn('bash', ['-c', ours(startBlock!)], {
    cwd: repo,
    env: { ...env, ...Object.fromEntries(Object.entries(ports).map(([k, v]) => [k, String(v)])), SHUTDOWN_TIMEOUT_MS: '3000', LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  stack.stdout!.on('data', (d: Buffer) => (output += d.toString()));
  stack.stderr!.on('data', (d: Buffer) => (output += d.toString()));
  const until = Date.now() + 90_000;
  for (;;) {
    const ok = await fetch(`http://127.0.0.1:${ports.HOST_PORT}/readyz`).then(
      (r) => r.status === 200,
      () => false,
    );
    if (ok) break;
    if (Date.now() > until || stack.exitCode !== null) throw new Error(`the stack did not come up:\n${output}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}, 120_000);

afterAll(async () => {
  if (stack?.pid) {
    const exited = new Promise((r) => stack!.once('exit', r));
    try {
      process.kill(-stack.pid, 'SIGTERM'); // the launcher stops its children; bash and the second issuer go with the group
    } catch {
      // gone
    }
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([exited, new Promise((r) => (timer = setTimeout(r, 15_000)))]);
    clearTimeout(timer);
    try {
      process.kill(-stack.pid, 'SIGKILL');
    } catch {
      // gone
    }
  }
  // The launcher's children are in process groups of their own: wait until its host port is free again.
  for (let i = 0; i < 60; i++) {
    const up = await fetch(`http://127.0.0.1:${ports.HOST_PORT}/healthz`).then(
      () => true,
      () => false,
    );
    if (!up) break;
    await new Promise((r) => setTimeout(r, 250));
  }
  stack?.stdout?.destroy();
  stack?.stderr?.destroy();
  rmSync(dir, { recursive: true, force: true });
}, 30_000);

test('the doc has the start block and the checks', () => {
  expect(startBlock).toMatch(/--issuer http:\/\/127\.0\.0\.2:9191\/tenant-b\/ --audience my-app-client-id/);
  expect(startBlock).toMatch(/AUTH_ISSUERS='\[\{"issuer":"http:\/\/127\.0\.0\.2:9191\/tenant-b\/","audience":"my-app-client-id"\}\]'/);
  expect(checkBlock).toMatch(/# → "TOKEN_INVALID"/);
});

test('both logins work, the same email is two users, user.id is derived from (iss, sub), the other audience is refused', () => {
  const run = spawnSync('bash', ['-c', ours(checkBlock!)], { cwd: repo, encoding: 'utf8', timeout: 60_000 });
  const printed = run.stdout.trimEnd().split('\n');
  const expected = checkBlock!
    .split('\n')
    .filter((l) => l.startsWith('# → '))
    .map((l) => ours(l.slice(4)));
  expect(run.stderr).toBe('');
  expect(printed).toHaveLength(expected.length);
  expected.forEach((want, i) => {
    const pattern = new RegExp(
      `^${want
        .split('…')
        .map((p) => p.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))
        .join('.+')}$`,
    );
    expect({ line: i, printed: printed[i] }).toEqual({ line: i, printed: expect.stringMatching(pattern) });
  });
  // The two users' ids really differ, and the second is the hash of the second issuer's iss and sub.
  expect(printed[0]).toMatch(/"provider":"dev"/);
  expect(printed[1]).toMatch(/"provider":"127\.0\.0\.2"/);
  const idB = JSON.parse(printed[1]!).id as string;
  expect(printed[4]).toBe(idB);
  expect(JSON.parse(printed[0]!).id).not.toBe(idB);
});
