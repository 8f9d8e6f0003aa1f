/**
 * The simulated NSM issues documents in exactly the real format: the same
 * COSE_Sign1 shape and protected header as the real Nitro document, the same
 * payload fields, readable by an independent CBOR library (cborg), and verifiable by
 * the client's verifier against the dev root (and never against the AWS root).
 */
import { decode as cborgDecode } from 'cborg';
import { mkdtempSync, readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AttestationError, verifyAttestationDocument } from '@enclave-wallet/client';
import { measureCode, readDevRoot, SimulatedNsm } from '../../devtools/src/nsm/index.js';
import { createPlatform, ENCLAVE_CODE_DIR } from '../../enclave/src/platform/index.js';

const real = new Uint8Array(readFileSync(new URL('../fixtures/nitro/attestation-real-2026-02-02.cbor', import.meta.url)));
const caDir = mkdtempSync(join(tmpdir(), 'dev-ca-'));
const nsm = new SimulatedNsm({ codeDirs: [ENCLAVE_CODE_DIR], caDir });
// An independent CBOR library; real Nitro payloads use an indefinite-length map.
const decoder = { decode: (b: Uint8Array): unknown => cborgDecode(b, { useMaps: true, allowIndefinite: true }) };

test('same COSE_Sign1 shape and protected header as the real document', () => {
  const doc = nsm.attest({ nonce: Uint8Array.of(1, 2, 3) });
  const ours = decoder.decode(doc) as unknown[];
  const theirs = decoder.decode(real) as unknown[];
  expect(Array.isArray(ours) && ours.length === 4).toBe(true);
  expect(Buffer.from(ours[0] as Uint8Array).toString('hex')).toBe(Buffer.from(theirs[0] as Uint8Array).toString('hex'));
  expect((ours[3] as Uint8Array).length).toBe(96);
  expect(doc[0]).toBe(real[0]); // untagged array of 4
});

test('same payload fields, in the same order, with the same types', () => {
  const payloadOf = (d: Uint8Array): Map<string, unknown> => decoder.decode((decoder.decode(d) as Uint8Array[])[2]!) as Map<string, unknown>;
  const ours = payloadOf(nsm.attest({ publicKey: new Uint8Array(32).fill(7) }));
  const theirs = payloadOf(real);
  expect([...ours.keys()]).toEqual([...theirs.keys()]);
  const kind = (v: unknown): string =>
    v === null ? 'null' : v instanceof Uint8Array ? 'bytes' : v instanceof Map ? 'map' : Array.isArray(v) ? 'array' : typeof v;
  for (const key of ['module_id', 'digest', 'timestamp', 'pcrs', 'certificate', 'cabundle', 'public_key']) {
    expect({ key, kind: kind(ours.get(key)) }).toEqual({ key, kind: kind(theirs.get(key)) });
  }
  expect((ours.get('pcrs') as Map<number, Uint8Array>).size).toBe(16);
});

test('documents verify against the dev root, carry the key and nonce, and treat null fields as absent', () => {
  const publicKey = new Uint8Array(32).fill(9);
  const nonce = Uint8Array.of(0xaa, 0xbb);
  const doc = verifyAttestationDocument(nsm.attest({ publicKey, nonce }), {
    root: readDevRoot(caDir),
    expectedNonce: nonce,
    expectedPcrs: { 0: nsm.pcrs().get(0)! },
  });
  expect([...doc.publicKey!]).toEqual([...publicKey]);
  expect(doc.userData).toBeUndefined();
  const bare = verifyAttestationDocument(nsm.attest({}), { root: readDevRoot(caDir) });
  expect(bare.publicKey).toBeUndefined();
  expect(bare.nonce).toBeUndefined();
});

test('the dev root is never trusted as the AWS root', () => {
  expect(() => verifyAttestationDocument(nsm.attest({}), { root: 'aws', policy: 'inspect' })).toThrow(expect.objectContaining({ code: 'UNTRUSTED_ROOT' }));
  expect(() =>
    verifyAttestationDocument(nsm.attest({ nonce: Uint8Array.of(1) }), {
      root: 'aws',
      expectedNonce: Uint8Array.of(1),
      expectedPcrs: { 0: nsm.pcrs().get(0)! },
    }),
  ).toThrow(expect.objectContaining({ code: 'UNTRUSTED_ROOT' }));
});

test('the production policy: PCR0 and a nonce required, debug-mode (all-zero) PCRs refused, a 32-byte key required', () => {
  const root = readDevRoot(caDir);
  const publicKey = new Uint8Array(32).fill(9);
  const nonce = Uint8Array.of(7, 7);
  const pcr0 = nsm.pcrs().get(0)!;
  const code = (f: () => unknown): string => {
    try {
      f();
      return 'ACCEPTED';
    } catch (e) {
      return (e as AttestationError).code;
    }
  };
  const production = { root, policy: 'production' as const, expectedNonce: nonce, expectedPcrs: { 0: pcr0 } };
  expect(code(() => verifyAttestationDocument(nsm.attest({ publicKey, nonce }), production))).toBe('ACCEPTED');
  expect(code(() => verifyAttestationDocument(nsm.attest({ publicKey, nonce }), { root, policy: 'production', expectedNonce: nonce }))).toBe(
    'EXPECTATIONS_MISSING',
  );
  expect(code(() => verifyAttestationDocument(nsm.attest({ publicKey, nonce }), { root, policy: 'production', expectedPcrs: { 0: pcr0 } }))).toBe(
    'EXPECTATIONS_MISSING',
  );
  expect(code(() => verifyAttestationDocument(nsm.attest({ nonce }), production))).toBe('PUBLIC_KEY_INVALID');
  expect(code(() => verifyAttestationDocument(nsm.attest({ publicKey: new Uint8Array(31), nonce }), production))).toBe('PUBLIC_KEY_INVALID');
  // A debug-mode enclave: every PCR is zero. Even an app that (wrongly) pins zeros is refused.
  const debug = new SimulatedNsm({ codeDirs: [ENCLAVE_CODE_DIR], caDir, debugMode: true });
  expect([...debug.pcrs().get(0)!].every((b) => b === 0)).toBe(true);
  expect(code(() => verifyAttestationDocument(debug.attest({ publicKey, nonce }), { ...production, expectedPcrs: { 0: new Uint8Array(48) } }))).toBe(
    'DEBUG_ENCLAVE',
  );
  expect(
    code(() => verifyAttestationDocument(debug.attest({ publicKey, nonce }), { ...production, policy: 'inspect', expectedPcrs: { 0: new Uint8Array(48) } })),
  ).toBe('ACCEPTED');
});

test('the dev CA is made once and reused by later processes', () => {
  const again = new SimulatedNsm({ codeDirs: [ENCLAVE_CODE_DIR], caDir });
  expect(() => verifyAttestationDocument(again.attest({}), { root: readDevRoot(caDir) })).not.toThrow();
  expect(Buffer.from(again.rootCertificate).equals(Buffer.from(nsm.rootCertificate))).toBe(true);
});

test('PCR0 measures the code: changing a file changes it', () => {
  const code = mkdtempSync(join(tmpdir(), 'code-'));
  mkdirSync(join(code, 'platform'));
  writeFileSync(join(code, 'main.js'), 'console.log(1)');
  writeFileSync(join(code, 'platform', 'x.js'), 'export {}');
  const before = Buffer.from(measureCode([code])).toString('hex');
  expect(Buffer.from(measureCode([code])).toString('hex')).toBe(before);
  writeFileSync(join(code, 'main.js'), 'console.log(2)');
  expect(Buffer.from(measureCode([code])).toString('hex')).not.toBe(before);
  expect(before).toHaveLength(96);
});

test('a document whose certificate expired is refused', () => {
  let now = Date.now();
  const clocked = new SimulatedNsm({ codeDirs: [ENCLAVE_CODE_DIR], caDir, now: () => now });
  const doc = clocked.attest({});
  now += 4 * 3600_000;
  expect(() => verifyAttestationDocument(doc, { root: readDevRoot(caDir), at: new Date(now) })).toThrow(AttestationError);
  // A fresh document after that gets a renewed leaf.
  expect(() => verifyAttestationDocument(clocked.attest({}), { root: readDevRoot(caDir), at: new Date(now) })).not.toThrow();
});

describe('the simulated NSM cannot be reached by accident in production', () => {
  test('refused where /dev/nsm exists', async () => {
    await expect(createPlatform({ mode: 'simulated', devCaDir: caDir, env: {}, deviceExists: () => true })).rejects.toThrow(/real enclave/);
  });
  test('refused with NODE_ENV=production unless the explicit override is set', async () => {
    await expect(createPlatform({ mode: 'simulated', devCaDir: caDir, env: { NODE_ENV: 'production' }, deviceExists: () => false })).rejects.toThrow(
      /production/,
    );
    await expect(
      createPlatform({ mode: 'simulated', devCaDir: caDir, env: { NODE_ENV: 'production', ENCLAVE_ALLOW_SIMULATED_NSM: 'yes' }, deviceExists: () => false }),
    ).rejects.toThrow(/production/);
    const p = await createPlatform({
      mode: 'simulated',
      devCaDir: caDir,
      env: { NODE_ENV: 'production', ENCLAVE_ALLOW_SIMULATED_NSM: 'i-understand-keys-are-not-protected' },
      deviceExists: () => false,
    });
    expect(p.mode).toBe('simulated');
  });
  test('nitro mode refuses to start without /dev/nsm', async () => {
    await expect(createPlatform({ mode: 'nitro', devCaDir: caDir, env: {}, deviceExists: () => false })).rejects.toThrow(/\/dev\/nsm/);
  });
  test('simulated mode loads the simulated NSM from devtools, and measures the enclave’s own code into PCR0', async () => {
    const p = await createPlatform({ mode: 'simulated', devCaDir: caDir, env: {}, deviceExists: () => false });
    expect(Buffer.from(p.pcrs().get(0)!)).toEqual(Buffer.from(measureCode([ENCLAVE_CODE_DIR])));
  });
});
