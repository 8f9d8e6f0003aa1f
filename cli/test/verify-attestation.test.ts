/** The verify-attestation command on the real Nitro document and tampered copies. */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { main, type Io } from '../src/index.js';
import { checkProductionPolicy } from '../src/verify-attestation.js';

const repo = fileURLToPath(new URL('../../', import.meta.url));
const realPath = join(repo, 'test/fixtures/nitro/attestation-real-2026-02-02.cbor');
const real = readFileSync(realPath);
const tmp = mkdtempSync(join(tmpdir(), 'cli-'));
const pcr0 = '9baef83909784e4d2cb84466c02931bb8125e948b62029029e80bfa1698bfd7069408e4ab20d1c99c859e8f774cce0ff';
/** The production policy's pins for the real document (its enclave put a 5-byte dummy public key in it). */
const pinned = ['--pcr', `0=${pcr0}`, '--key-length', '5'];

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

test('the real document verifies with --root aws --at document and its PCR0 pinned (production policy)', async () => {
  const { code, out } = await run(['verify-attestation', realPath, '--root', 'aws', '--at', 'document', ...pinned]);
  expect(code).toBe(0);
  const result = JSON.parse(out);
  expect(result).toMatchObject({
    valid: true,
    policy: 'production',
    moduleId: 'i-0340e0cb833504eb6-enc019c12d31f78864d',
    timestamp: '2026-02-02T20:43:47.502Z',
  });
  expect(result.pcrs['0']).toMatch(/^9baef83909784e4d/);
  expect(Object.keys(result.pcrs)).toHaveLength(16);
});

test('with the AWS root, a document is not valid without PCR0 pinned (with or without --root given), nor with a key of another length', async () => {
  // The AWS root as a file (DER or PEM) is the AWS root: the same policy.
  const awsDer = join(repo, 'test/fixtures/nitro/aws-nitro-root-g1.der');
  const awsPem = join(tmp, 'aws-root.pem');
  writeFileSync(awsPem, `-----BEGIN CERTIFICATE-----\n${readFileSync(awsDer).toString('base64')}\n-----END CERTIFICATE-----\n`);
  for (const args of [
    ['--root', 'aws'],
    ['--root', awsDer],
    ['--root', awsPem],
    [],
    ['--pcr', '1=4b4d5b3661b3efc12920900c80e126e4ce783c522de6c02a2a5bf7af3a2b9327b86776f188e4be1c1c404a129dbda493'],
  ]) {
    const { code, out } = await run(['verify-attestation', realPath, '--at', 'document', ...args]);
    expect({ args, code }).toEqual({ args, code: 1 });
    expect(JSON.parse(out)).toEqual({ valid: false, reason: expect.stringMatching(/^EXPECTATIONS_MISSING: .*--pcr 0=HEX/) });
  }
  const key = await run(['verify-attestation', realPath, '--at', 'document', '--pcr', `0=${pcr0}`]);
  expect(key.code).toBe(1);
  expect(JSON.parse(key.out).reason).toMatch(/^PUBLIC_KEY_INVALID: .*32 bytes \(it has 5/);
});

test('--inspect only looks: no PCR needed, and the answer says so', async () => {
  const { code, out } = await run(['verify-attestation', realPath, '--root', 'aws', '--at', 'document', '--inspect']);
  expect(code).toBe(0);
  expect(JSON.parse(out)).toMatchObject({ valid: true, policy: 'inspect' });
});

test('the production policy refuses a debug-mode document (all-zero image PCRs) and a missing key', () => {
  const good = { pcrs: new Map([0, 1, 2].map((i) => [i, new Uint8Array(48).fill(i + 1)])), publicKey: new Uint8Array(32) };
  expect(() => checkProductionPolicy(good, 32)).not.toThrow();
  for (const index of [0, 1, 2]) {
    const pcrs = new Map(good.pcrs);
    pcrs.set(index, new Uint8Array(48));
    expect(() => checkProductionPolicy({ ...good, pcrs }, 32)).toThrow(expect.objectContaining({ code: 'DEBUG_ENCLAVE' }));
  }
  expect(() => checkProductionPolicy({ ...good, publicKey: undefined }, 32)).toThrow(expect.objectContaining({ code: 'PUBLIC_KEY_INVALID' }));
  expect(() => checkProductionPolicy(good, 33)).toThrow(expect.objectContaining({ code: 'PUBLIC_KEY_INVALID' }));
});

test('tampered copies are invalid (exit 1) wherever the flipped byte is', async () => {
  for (const index of [0, 10, 100, 500, 1000, 2000, 3000, 4000, real.length - 50, real.length - 1]) {
    const { code, out } = await run(['verify-attestation', tampered(index), '--root', 'aws', '--at', 'document', ...pinned]);
    expect({ index, code }).toEqual({ index, code: 1 });
    expect(JSON.parse(out).valid).toBe(false);
  }
});

test('at the current time the real document is invalid: its leaf certificate expired', async () => {
  const { code, out } = await run(['verify-attestation', realPath, ...pinned]);
  expect(code).toBe(1);
  expect(JSON.parse(out).reason).toMatch(/^NOT_VALID_AT_TIME/);
});

test('base64 input and standard input are accepted', async () => {
  const b64 = join(tmp, 'doc.b64');
  writeFileSync(b64, real.toString('base64').replace(/(.{76})/g, '$1\n'));
  expect((await run(['verify-attestation', b64, '--at', 'document', ...pinned])).code).toBe(0);
  expect((await run(['verify-attestation', '-', '--at', 'document', ...pinned], real)).code).toBe(0);
});

test("the API's answer as saved (curl …/v1/enclave/attestation > FILE) is read for its document; other JSON is refused by name", async () => {
  const answer = join(tmp, 'answer.json');
  writeFileSync(answer, JSON.stringify({ document: real.toString('base64'), mode: 'nitro', expiresAt: '2026-02-02T00:00:00.000Z' }));
  expect((await run(['verify-attestation', answer, '--at', 'document', ...pinned])).code).toBe(0);
  const tamperedAnswer = join(tmp, 'answer-tampered.json');
  const copy = Buffer.from(real);
  copy[copy.length - 10]! ^= 0xff;
  writeFileSync(tamperedAnswer, JSON.stringify({ document: copy.toString('base64') }));
  expect((await run(['verify-attestation', tamperedAnswer, '--at', 'document', ...pinned])).code).toBe(1);
  for (const [name, text] of [
    ['other.json', '{"error":{"code":"NONCE_INVALID"}}'],
    ['broken.json', '{"document": '],
  ] as const) {
    writeFileSync(join(tmp, name), text);
    const out = await run(['verify-attestation', join(tmp, name), '--at', 'document', ...pinned]);
    expect(out.code).toBe(1);
    expect(JSON.parse(out.out)).toMatchObject({ valid: false, reason: expect.stringMatching(/^MALFORMED: .*API's answer as saved/) });
  }
});

test('expected PCRs and nonce', async () => {
  expect((await run(['verify-attestation', realPath, '--at', 'document', ...pinned])).code).toBe(0);
  const bad = await run(['verify-attestation', realPath, '--at', 'document', '--key-length', '5', '--pcr', `0=${pcr0.replace(/^9b/, '9c')}`]);
  expect(bad.code).toBe(1);
  expect(JSON.parse(bad.out).reason).toMatch(/^PCR_MISMATCH/);
  expect((await run(['verify-attestation', realPath, '--at', 'document', ...pinned, '--nonce', '0123456789abcdef0123456789abcdef01234567'])).code).toBe(0);
  expect((await run(['verify-attestation', realPath, '--at', 'document', ...pinned, '--nonce', '00'])).code).toBe(1);
  expect((await run(['verify-attestation', realPath, '--at', '2026-02-02T21:00:00Z', ...pinned])).code).toBe(0);
  expect((await run(['verify-attestation', realPath, '--at', 'document', '--inspect', '--nonce', '00'])).code).toBe(1);
});

test('bad usage exits 2 with a message', async () => {
  for (const args of [
    [],
    ['verify-attestation'],
    ['verify-attestation', realPath, '--pcr', 'x'],
    ['verify-attestation', realPath, '--at', 'yesterday'],
    ['verify-attestation', realPath, '--bogus'],
    ['verify-attestation', realPath, '--key-length', '0'],
    ['verify-attestation', realPath, '--key-length'],
    ['nope'],
    ['verify-attestation', '/no/such/file'],
    ['verify-attestation', realPath, '--root', 'dev'],
  ]) {
    const { code, err } = await run(args);
    expect({ args, code }).toEqual({ args, code: 2 });
    if (args.length > 0) expect(err).toMatch(/enclave-wallet: /);
  }
  // --root dev outside the repository says where it looked and what to do.
  const { err } = await run(['verify-attestation', realPath, '--root', 'dev']);
  expect(err).toContain(`cannot read root certificate ${join(tmp, '.data', 'dev-ca', 'root.der')}`);
  expect(err).toContain('run the command in the repository where the local stack ran, or give that file as --root PATH');
});

test('the installed command works from the repository root (npx enclave-wallet)', () => {
  // Needs the build (npm test builds first; npm install builds through `prepare`).
  const out = execFileSync(join(repo, 'node_modules/.bin/enclave-wallet'), ['verify-attestation', realPath, '--root', 'aws', '--at', 'document', ...pinned], {
    cwd: repo,
    encoding: 'utf8',
  });
  expect(JSON.parse(out).valid).toBe(true);
});
