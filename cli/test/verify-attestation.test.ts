/** The verify-attestation command on the real Nitro document and tampered copies. */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { main, type Io } from '../src/index.js';

const repo = fileURLToPath(new URL('../../', import.meta.url));
const realPath = join(repo, 'test/fixtures/nitro/attestation-real-2026-02-02.cbor');
const real = readFileSync(realPath);
const tmp = mkdtempSync(join(tmpdir(), 'cli-'));

async function run(args: string[], stdin = Buffer.alloc(0)): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const io: Io = { stdout: (l) => out.push(l), stderr: (l) => err.push(l), readStdin: async () => stdin, env: {}, cwd: tmp };
  const code = await main(args, io);
  return { code, out: out.join('\n'), err: err.join('\n') };
}

function tampered(index: number): string {
  const copy = Buffer.from(real);
  copy[index]! ^= 0xff;
  const path = join(tmp, `tampered-${index}.cbor`);
  writeFileSync(path, copy);
  return path;
}

test('the real document verifies with --root aws --at document', async () => {
  const { code, out } = await run(['verify-attestation', realPath, '--root', 'aws', '--at', 'document']);
  expect(code).toBe(0);
  const result = JSON.parse(out);
  expect(result).toMatchObject({ valid: true, moduleId: 'i-0340e0cb833504eb6-enc019c12d31f78864d', timestamp: '2026-02-02T20:43:47.502Z' });
  expect(result.pcrs['0']).toMatch(/^9baef83909784e4d/);
  expect(Object.keys(result.pcrs)).toHaveLength(16);
});

test('tampered copies are invalid (exit 1) wherever the flipped byte is', async () => {
  for (const index of [0, 10, 100, 500, 1000, 2000, 3000, 4000, real.length - 50, real.length - 1]) {
    const { code, out } = await run(['verify-attestation', tampered(index), '--root', 'aws', '--at', 'document']);
    expect({ index, code }).toEqual({ index, code: 1 });
    expect(JSON.parse(out).valid).toBe(false);
  }
});

test('at the current time the real document is invalid: its leaf certificate expired', async () => {
  const { code, out } = await run(['verify-attestation', realPath]);
  expect(code).toBe(1);
  expect(JSON.parse(out).reason).toMatch(/^NOT_VALID_AT_TIME/);
});

test('base64 input and standard input are accepted', async () => {
  const b64 = join(tmp, 'doc.b64');
  writeFileSync(b64, real.toString('base64').replace(/(.{76})/g, '$1\n'));
  expect((await run(['verify-attestation', b64, '--at', 'document'])).code).toBe(0);
  expect((await run(['verify-attestation', '-', '--at', 'document'], real)).code).toBe(0);
});

test('expected PCRs and nonce', async () => {
  const pcr0 = '9baef83909784e4d2cb84466c02931bb8125e948b62029029e80bfa1698bfd7069408e4ab20d1c99c859e8f774cce0ff';
  expect((await run(['verify-attestation', realPath, '--at', 'document', '--pcr', `0=${pcr0}`])).code).toBe(0);
  const bad = await run(['verify-attestation', realPath, '--at', 'document', '--pcr', `0=${pcr0.replace(/^9b/, '9c')}`]);
  expect(bad.code).toBe(1);
  expect(JSON.parse(bad.out).reason).toMatch(/^PCR_MISMATCH/);
  expect((await run(['verify-attestation', realPath, '--at', 'document', '--nonce', '0123456789abcdef0123456789abcdef01234567'])).code).toBe(0);
  expect((await run(['verify-attestation', realPath, '--at', 'document', '--nonce', '00'])).code).toBe(1);
  expect((await run(['verify-attestation', realPath, '--at', '2026-02-02T21:00:00Z'])).code).toBe(0);
});

test('bad usage exits 2 with a message', async () => {
  for (const args of [
    [],
    ['verify-attestation'],
    ['verify-attestation', realPath, '--pcr', 'x'],
    ['verify-attestation', realPath, '--at', 'yesterday'],
    ['verify-attestation', realPath, '--bogus'],
    ['nope'],
    ['verify-attestation', '/no/such/file'],
    ['verify-attestation', realPath, '--root', 'dev'],
  ]) {
    const { code, err } = await run(args);
    expect({ args, code }).toEqual({ args, code: 2 });
    if (args.length > 0) expect(err).toMatch(/enclave-wallet: /);
  }
});

test('the installed command works from the repository root (npx enclave-wallet)', () => {
  // Needs the build (npm test builds first; npm install builds through `prepare`).
  const out = execFileSync(join(repo, 'node_modules/.bin/enclave-wallet'), ['verify-attestation', realPath, '--root', 'aws', '--at', 'document'], {
    cwd: repo,
    encoding: 'utf8',
  });
  expect(JSON.parse(out).valid).toBe(true);
});
