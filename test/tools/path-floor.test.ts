// scripts/path-floor.mjs, the floor's path of `npm run bench` (scripts/bench-floor.mjs): its two processes answer
// each request with the Argon2id of that request's envelope (checked with another implementation, hash-wasm), also
// when several are in flight at once, and refuse a body without one.
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { createHash } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { argon2id } from 'hash-wasm';
import { ARGON2_POLICY } from '../../enclave/src/sealing/kdf.js';
import { freePort } from '../support/ports.js';

const script = fileURLToPath(new URL('../../scripts/path-floor.mjs', import.meta.url));
const children: ChildProcessWithoutNullStreams[] = [];

function start(args: string[]): Promise<void> {
  const child = spawn(process.execPath, [script, ...args], { stdio: 'pipe' });
  children.push(child);
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      if (/^listening \d+$/m.test(out)) resolve();
    });
    child.once('exit', (code) => reject(new Error(`path-floor.mjs ${args[0]} exited with ${code}`)));
  });
}

let url: string;
beforeAll(async () => {
  const enclavePort = await freePort();
  const hostPort = await freePort();
  await start(['enclave', String(enclavePort)]);
  await start(['host', String(hostPort), String(enclavePort)]);
  url = `http://127.0.0.1:${hostPort}/v1/wallets/floor/sign`;
}, 30_000);
afterAll(() => {
  for (const c of children) c.kill('SIGTERM');
});

const post = async (body: unknown): Promise<{ status: number; body: { signature?: string } }> => {
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return { status: res.status, body: (await res.json()) as { signature?: string } };
};

/** The same stretch by hash-wasm: the envelope's bytes, salted with their SHA-256's first 16 bytes, the enclave's cost. */
const expected = async (envelope: string): Promise<string> =>
  '0x' +
  (await argon2id({
    password: Buffer.from(envelope, 'utf8'),
    salt: createHash('sha256').update(envelope, 'utf8').digest().subarray(0, 16),
    parallelism: ARGON2_POLICY.parallelism,
    iterations: ARGON2_POLICY.iterations,
    memorySize: ARGON2_POLICY.memoryKiB,
    hashLength: 32,
    outputType: 'hex',
  }));

test('each request, several in flight at once, gets the Argon2id of its own envelope', async () => {
  const envelopes = ['floor-a', 'floor-b', 'floor-c', 'floor-d'].map((e) => e.padEnd(220, '.'));
  const answers = await Promise.all(envelopes.map((pinEnvelope) => post({ network: 'evm', kind: 'message', pinEnvelope })));
  for (const [i, answer] of answers.entries()) {
    expect(answer.status).toBe(200);
    expect(answer.body.signature).toBe(await expected(envelopes[i]!));
  }
  expect(new Set(answers.map((a) => a.body.signature)).size).toBe(envelopes.length);
}, 60_000);

test('a body without an envelope is refused with 400', async () => {
  expect((await post({ network: 'evm' })).status).toBe(400);
  expect((await post({ pinEnvelope: '' })).status).toBe(400);
}, 30_000);
