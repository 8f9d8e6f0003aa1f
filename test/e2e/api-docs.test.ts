/**
 * docs/api.md's examples are what the running API answers (issue 23): the
 * "Example session" block run as written (curl, jq and openssl in `sh`, only
 * the ports changed to the test's) against the real local stack
 * (`scripts/start.mjs`), each `# →` answer compared with the real one; the
 * error example against a real wrong PIN; the answer shapes of the calls
 * table for login, refresh, attestation and wallets. In an example, a string
 * with `…` stands for any text in its place (`"usr_…"`: starts with `usr_`),
 * and a `"…": "…"` member for further members. Needs the build.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createClient, EnclaveWalletApiError } from '@enclave-wallet/client';
import { freePort } from '../support/ports.js';

const repo = fileURLToPath(new URL('../../', import.meta.url));
const doc = readFileSync(join(repo, 'docs/api.md'), 'utf8');
let launcher: ChildProcess;
let dir: string;
const ports = { HOST_PORT: 0, DEV_ISSUER_PORT: 0 };

/** Where `example` does not match `actual`: a list of paths and reasons (empty: it matches). */
function differences(example: unknown, actual: unknown, path = '$'): string[] {
  if (typeof example === 'string' && example.includes('…')) {
    if (typeof actual !== 'string') return [`${path}: expected a string, got ${JSON.stringify(actual)}`];
    const pattern = new RegExp(
      `^${example
        .split('…')
        .map((p) => p.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))
        .join('.*')}$`,
      's',
    );
    return pattern.test(actual) ? [] : [`${path}: ${JSON.stringify(actual)} is not ${JSON.stringify(example)}`];
  }
  if (Array.isArray(example)) {
    if (!Array.isArray(actual)) return [`${path}: expected an array`];
    return example.flatMap((e, i) => differences(e, actual[i], `${path}[${i}]`));
  }
  if (example && typeof example === 'object') {
    if (!actual || typeof actual !== 'object' || Array.isArray(actual)) return [`${path}: expected an object, got ${JSON.stringify(actual)}`];
    const e = example as Record<string, unknown>;
    const a = actual as Record<string, unknown>;
    const open = '…' in e;
    const out: string[] = [];
    for (const k of Object.keys(e))
      if (k !== '…') out.push(...(k in a ? differences(e[k], a[k], `${path}.${k}`) : [`${path}.${k}: missing in the real answer`]));
    if (!open) for (const k of Object.keys(a)) if (!(k in e)) out.push(`${path}.${k}: in the real answer, not in the example`);
    return out;
  }
  return example === actual ? [] : [`${path}: ${JSON.stringify(actual)} is not ${JSON.stringify(example)}`];
}

/** An answer shape of the calls table, `{ a, b?, c: { d } }`, as the set of dotted member paths (optional ones marked `?`). */
function shapeOf(cell: string): { required: string[]; optional: string[] } {
  const required: string[] = [];
  const optional: string[] = [];
  const stack: string[] = [];
  let last = '';
  for (const token of cell.match(/[{}]|[A-Za-z]+\??|,/g) ?? []) {
    if (token === '{') {
      if (last) stack.push(last.replace('?', ''));
    } else if (token === '}') stack.pop();
    else if (token !== ',') {
      last = token;
      const name = [...stack, token.replace('?', '')].join('.');
      (token.endsWith('?') ? optional : required).push(name);
      continue;
    }
    last = '';
  }
  return { required: [...new Set(required)], optional };
}
const pathsOf = (value: unknown, prefix = ''): string[] =>
  value && typeof value === 'object' && !Array.isArray(value)
    ? Object.entries(value).flatMap(([k, v]) => [`${prefix}${k}`, ...pathsOf(v, `${prefix}${k}.`)])
    : [];
const callAnswer = (call: string): string => {
  const row = doc.split('\n').find((l) => l.startsWith(`| \`${call}`));
  if (!row) throw new Error(`no row for ${call} in docs/api.md`);
  return row.split(' | ')[2]!;
};
/** Checks a real answer against its row of the calls table: every member listed is there, and nothing else at the top levels listed. */
function matchesRow(call: string, answer: Record<string, unknown>): void {
  const cell = callAnswer(call);
  // The shape is the cell's first balanced `{ … }`; what follows it is prose.
  const start = cell.indexOf('{');
  let depth = 0;
  let end = start;
  for (; end < cell.length; end++) {
    if (cell[end] === '{') depth++;
    if (cell[end] === '}' && --depth === 0) break;
  }
  const { required, optional } = shapeOf(cell.slice(start, end + 1));
  const real = pathsOf(answer).filter((p) => required.some((r) => p === r || p.split('.').slice(0, -1).join('.') === r.split('.').slice(0, -1).join('.')));
  expect({ call, missing: required.filter((r) => !pathsOf(answer).includes(r)) }).toEqual({ call, missing: [] });
  expect({ call, extra: real.filter((p) => !required.includes(p) && !optional.includes(p)) }).toEqual({ call, extra: [] });
}

beforeAll(async () => {
  ports.HOST_PORT = await freePort();
  ports.DEV_ISSUER_PORT = await freePort();
  const others = { ENCLAVE_PORT: await freePort(), LOCAL_KMS_PORT: await freePort(), DYNAMODB_PORT: await freePort(), FRAME_PORT: await freePort() };
  dir = mkdtempSync(join(tmpdir(), 'api-docs-'));
  launcher = spawn(process.execPath, [join(repo, 'scripts/start.mjs')], {
    env: {
      ...Object.fromEntries(Object.entries(process.env).filter(([k]) => !['ENCLAVE_LISTEN', 'ENCLAVE_ADDRESS', 'HOST_PUBLIC_URL'].includes(k))),
      ...Object.fromEntries(Object.entries({ ...ports, ...others }).map(([k, v]) => [k, String(v)])),
      DATA_DIR: dir,
      LOCAL_CHAIN: '0',
      SHUTDOWN_TIMEOUT_MS: '3000',
      LOG_LEVEL: 'error',
    },
    stdio: ['ignore', 'ignore', 'ignore'],
    detached: true,
  });
  for (let i = 0; i < 600; i++) {
    if (
      await fetch(`http://127.0.0.1:${ports.HOST_PORT}/readyz`).then(
        (r) => r.ok,
        () => false,
      )
    )
      return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('the local stack did not come up');
}, 90_000);
afterAll(async () => {
  if (!launcher?.pid) return;
  const exited = new Promise((r) => launcher.once('exit', r));
  process.kill(-launcher.pid, 'SIGTERM');
  await exited;
}, 30_000);

test('the "Example session" block, run as written, answers what each "# →" line says', () => {
  const block = /## Example session\n+```sh\n([\s\S]*?)```/.exec(doc)![1]!;
  const lines = block
    .replaceAll('localhost:9090', `localhost:${ports.DEV_ISSUER_PORT}`)
    .replaceAll('localhost:8080', `localhost:${ports.HOST_PORT}`)
    .split('\n')
    .filter(Boolean);
  const commands: Array<{ command: string; expected?: string }> = [];
  for (const line of lines) {
    if (line.startsWith('# → ')) commands.at(-1)!.expected = line.slice(4);
    else if (!line.startsWith('#')) commands.push({ command: line });
  }
  expect(commands.filter((c) => c.expected)).toHaveLength(2);
  // One shell, so variables carry from line to line; a marker after each command splits the outputs.
  const script = commands.map((c) => `${c.command}\necho; echo '<<<next>>>'`).join('\n');
  const run = spawnSync('sh', ['-c', script], { encoding: 'utf8' });
  expect(run.status).toBe(0);
  const outputs = run.stdout.split('<<<next>>>\n');
  commands.forEach((c, i) => {
    if (!c.expected) return;
    const example = JSON.parse(c.expected) as unknown;
    const actual = JSON.parse(outputs[i]!.trim()) as unknown;
    expect({ command: c.command, differences: differences(example, actual) }).toEqual({ command: c.command, differences: [] });
  });
});

test('the error example is a real wrong-PIN answer; login, refresh, attestation and wallet answers have the members the calls table lists', async () => {
  const idToken = (
    (await (
      await fetch(`http://127.0.0.1:${ports.DEV_ISSUER_PORT}/token`, { method: 'POST', body: JSON.stringify({ email: 'docs@example.com' }) })
    ).json()) as {
      id_token: string;
    }
  ).id_token;
  const answers = new Map<string, unknown>();
  const recording: typeof fetch = async (input, init) => {
    const res = await fetch(input, init);
    const url = new URL(typeof input === 'string' ? input : input instanceof URL ? input.href : input.url);
    answers.set(`${init?.method ?? 'GET'} ${url.pathname}`, res.status === 204 ? null : await res.clone().json());
    return res;
  };
  const client = createClient({
    baseUrl: `http://127.0.0.1:${ports.HOST_PORT}`,
    root: new Uint8Array(readFileSync(join(dir, 'dev-ca', 'root.der'))),
    fetch: recording,
  });
  await client.login(idToken);
  matchesRow('POST /v1/auth/login', answers.get('POST /v1/auth/login') as Record<string, unknown>);
  const wallet = await client.createWallet('493817');
  matchesRow('POST /v1/wallets', answers.get('POST /v1/wallets') as Record<string, unknown>);
  await client.listWallets();
  expect(Object.keys(answers.get('GET /v1/wallets') as object)).toEqual(['wallets']);
  matchesRow('GET /v1/enclave/attestation', answers.get('GET /v1/enclave/attestation') as Record<string, unknown>);

  await expect(client.signEvmMessage(wallet.walletId, 'hello', { pin: '000000' })).rejects.toBeInstanceOf(EnclaveWalletApiError);
  const wrong = answers.get(`POST /v1/wallets/${wallet.walletId}/sign`);
  const example = JSON.parse(/## Errors\n+Always\n+```json\n(.*)\n```/.exec(doc)![1]!) as unknown;
  expect(differences(example, wrong)).toEqual([]);

  const refreshed = await fetch(`http://127.0.0.1:${ports.HOST_PORT}/v1/auth/refresh`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ refreshToken: client.session!.refreshToken }),
  });
  expect(callAnswer('POST /v1/auth/refresh')).toMatch(/^the same/);
  matchesRow('POST /v1/auth/login', (await refreshed.json()) as Record<string, unknown>);
}, 60_000);
