// scripts/path-floor.mjs, the floor's path of `npm run bench` (scripts/bench-floor.mjs): its two processes answer
// each request with the Argon2id of that request's envelope (checked with another implementation, hash-wasm), also
// when several are in flight at once; its enclave side reads frames however TCP cuts them; a body without an envelope
// is refused; and its HTTP server ends when its enclave side does, so that a caller is not left waiting.
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { createHash } from 'node:crypto';
import { connect } from 'node:net';
import { fileURLToPath } from 'node:url';
import { argon2id } from 'hash-wasm';
import { ARGON2_POLICY } from '../../enclave/src/sealing/kdf.js';
import { freePort } from '../support/ports.js';

const script = fileURLToPath(new URL('../../scripts/path-floor.mjs', import.meta.url));
const children: ChildProcessWithoutNullStreams[] = [];

function start(args: string[]): Promise<ChildProcessWithoutNullStreams> {
  const child = spawn(process.execPath, [script, ...args], { stdio: 'pipe' });
  children.push(child);
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      if (/^listening \d+$/m.test(out)) resolve(child);
    });
    child.once('exit', (code) => reject(new Error(`path-floor.mjs ${args[0]} exited with ${code}`)));
  });
}

let url: string;
let enclavePort: number;
beforeAll(async () => {
  enclavePort = await freePort();
  const hostPort = await freePort();
  await start(['enclave', String(enclavePort)]);
  await start(['host', String(hostPort), String(enclavePort)]);
  url = `http://127.0.0.1:${hostPort}/v1/wallets/floor/sign`;
}, 30_000);
afterAll(() => {
  for (const c of children) c.kill('SIGTERM');
});

/** A frame as path-floor.mjs writes them: u32 length of the rest | u32 request id | payload. */
const frame = (id: number, payload: string): Buffer => {
  const body = Buffer.from(payload, 'utf8');
  const out = Buffer.alloc(8 + body.length);
  out.writeUInt32BE(4 + body.length, 0);
  out.writeUInt32BE(id, 4);
  body.copy(out, 8);
  return out;
};

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

test('the enclave side reads a frame cut in pieces, and two frames in one write, answering each by its id', async () => {
  const socket = connect(enclavePort, '127.0.0.1');
  await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
  const answers = new Map<number, string>();
  let pending = Buffer.alloc(0);
  const allIn = new Promise<void>((resolve) =>
    socket.on('data', (d: Buffer) => {
      pending = Buffer.concat([pending, d]);
      while (pending.length >= 4 && pending.length >= 4 + pending.readUInt32BE(0)) {
        const length = pending.readUInt32BE(0);
        answers.set(pending.readUInt32BE(4), '0x' + pending.subarray(8, 4 + length).toString('hex'));
        pending = pending.subarray(4 + length);
      }
      if (answers.size === 3) resolve();
    }),
  );
  const split = frame(7, 'floor-split');
  for (const piece of [split.subarray(0, 2), split.subarray(2, 9), split.subarray(9)]) {
    socket.write(piece);
    await new Promise((r) => setTimeout(r, 20));
  }
  socket.write(Buffer.concat([frame(8, 'floor-two-1'), frame(9, 'floor-two-2')]));
  await allIn;
  socket.destroy();
  expect(answers.get(7)).toBe(await expected('floor-split'));
  expect(answers.get(8)).toBe(await expected('floor-two-1'));
  expect(answers.get(9)).toBe(await expected('floor-two-2'));
}, 60_000);

test('the HTTP server ends when its enclave side does, so that a call fails at once instead of waiting', async () => {
  const ePort = await freePort();
  const hPort = await freePort();
  const enclave = await start(['enclave', String(ePort)]);
  const host = await start(['host', String(hPort), String(ePort)]);
  const hostEnded = new Promise<number | null>((resolve) => host.once('exit', resolve));
  enclave.kill('SIGKILL');
  expect(await hostEnded).toBe(1);
  await expect(fetch(`http://127.0.0.1:${hPort}/`, { method: 'POST', body: '{"pinEnvelope":"x"}' })).rejects.toThrow();
}, 30_000);
