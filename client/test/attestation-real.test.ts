/**
 * The verifier against a real Nitro attestation document (test/fixtures)
 * and the real AWS Nitro root G1.
 */
import { readFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { AttestationError, AWS_NITRO_ROOT_G1_SHA256, createClient, trustedRoot, verifyAttestationDocument } from '../src/index.js';

const fixtures = new URL('../../test/fixtures/nitro/', import.meta.url);
const real = new Uint8Array(readFileSync(new URL('attestation-real-2026-02-02.cbor', fixtures)));
const awsRoot = new Uint8Array(readFileSync(new URL('aws-nitro-root-g1.der', fixtures)));
const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

function codeOf(fn: () => unknown): string {
  try {
    fn();
    return 'ACCEPTED';
  } catch (err) {
    return err instanceof AttestationError ? err.code : `UNTYPED ${(err as Error).name}`;
  }
}

test('the pinned fingerprint is that of the AWS root certificate file', () => {
  expect(createHash('sha256').update(awsRoot).digest('hex')).toBe(AWS_NITRO_ROOT_G1_SHA256);
});

test('the real document verifies against the AWS root at its own timestamp', () => {
  const doc = verifyAttestationDocument(real, { root: 'aws', at: 'document', policy: 'inspect' });
  expect(doc.moduleId).toBe('i-0340e0cb833504eb6-enc019c12d31f78864d');
  expect(new Date(doc.timestamp).toISOString()).toBe('2026-02-02T20:43:47.502Z');
  expect(doc.digest).toBe('SHA384');
  expect(doc.pcrs.size).toBe(16);
  expect([...doc.pcrs.values()].every((p) => p.length === 48)).toBe(true);
  expect(hex(doc.pcrs.get(0)!).startsWith('9baef83909784e4d')).toBe(true);
  expect(hex(doc.cabundle[0]!)).toBe(hex(awsRoot));
});

test('the AWS root given as bytes is the AWS root, with exactly its rules: production by default, inspect only when asked', () => {
  // Once, bytes meant "a pinned DER root" and the inspect policy: any image, debug mode included, was accepted.
  expect(trustedRoot(awsRoot)).toBe('aws');
  expect(trustedRoot(new Uint8Array(awsRoot))).toBe('aws');
  const pcr0 = hex(verifyAttestationDocument(real, { root: 'aws', at: 'document', policy: 'inspect' }).pcrs.get(0)!);
  for (const root of ['aws', awsRoot] as const) {
    expect(codeOf(() => verifyAttestationDocument(real, { root, at: 'document' }))).toBe('EXPECTATIONS_MISSING');
    expect(codeOf(() => verifyAttestationDocument(real, { root, at: 'document', expectedPcrs: { 0: pcr0 }, expectedNonce: Uint8Array.of(1) }))).toBe(
      'NONCE_MISMATCH',
    );
    expect(codeOf(() => verifyAttestationDocument(real, { root, at: 'document', policy: 'inspect' }))).toBe('ACCEPTED');
  }
});

test('the SDK refuses the AWS root as bytes without PCR0, as it refuses root aws', () => {
  const options = { baseUrl: 'http://127.0.0.1:1', fetch: (() => Promise.reject(new Error('no network'))) as typeof fetch };
  for (const root of ['aws', awsRoot, new Uint8Array(awsRoot)] as const)
    expect(() => createClient({ ...options, root })).toThrow(
      new TypeError("root 'aws' needs expectedPcrs with PCR0: without it any enclave image would be accepted"),
    );
  expect(() => createClient({ ...options, root: awsRoot, expectedPcrs: { 0: '00'.repeat(48) } })).not.toThrow();
  // Another root as bytes stays a pinned root of its own (the dev root, for development).
  const otherRoot = new Uint8Array(awsRoot);
  otherRoot[otherRoot.length - 1]! ^= 1;
  expect(() => createClient({ ...options, root: otherRoot })).not.toThrow();
});

test('today the leaf certificate has expired: NOT_VALID_AT_TIME', () => {
  expect(codeOf(() => verifyAttestationDocument(real, { root: 'aws', policy: 'inspect' }))).toBe('NOT_VALID_AT_TIME');
  expect(codeOf(() => verifyAttestationDocument(real, { root: 'aws', at: new Date('2026-02-02T23:40:00Z'), policy: 'inspect' }))).toBe('NOT_VALID_AT_TIME');
  expect(codeOf(() => verifyAttestationDocument(real, { root: 'aws', at: new Date('2026-02-02T21:00:00Z'), policy: 'inspect' }))).toBe('ACCEPTED');
});

test('expected PCRs and nonce are enforced', () => {
  const doc = verifyAttestationDocument(real, { root: 'aws', at: 'document', policy: 'inspect' });
  const pcr0 = hex(doc.pcrs.get(0)!);
  expect(codeOf(() => verifyAttestationDocument(real, { root: 'aws', at: 'document', policy: 'inspect', expectedPcrs: { 0: pcr0 } }))).toBe('ACCEPTED');
  const wrong = pcr0.slice(0, -2) + (pcr0.endsWith('00') ? '01' : '00');
  expect(codeOf(() => verifyAttestationDocument(real, { root: 'aws', at: 'document', policy: 'inspect', expectedPcrs: { 0: wrong } }))).toBe('PCR_MISMATCH');
  expect(codeOf(() => verifyAttestationDocument(real, { root: 'aws', at: 'document', policy: 'inspect', expectedPcrs: { 20: pcr0 } }))).toBe('PCR_MISMATCH');
  const nonce = doc.nonce ?? new Uint8Array(0);
  expect(codeOf(() => verifyAttestationDocument(real, { root: 'aws', at: 'document', policy: 'inspect', expectedNonce: nonce }))).toBe('ACCEPTED');
  expect(codeOf(() => verifyAttestationDocument(real, { root: 'aws', at: 'document', policy: 'inspect', expectedNonce: Uint8Array.of(1, 2, 3) }))).toBe(
    'NONCE_MISMATCH',
  );
});

test('with root aws the production policy is the default: PCR0 and a nonce must be given', () => {
  expect(codeOf(() => verifyAttestationDocument(real, { root: 'aws', at: 'document' }))).toBe('EXPECTATIONS_MISSING');
  const pcr0 = hex(verifyAttestationDocument(real, { root: 'aws', at: 'document', policy: 'inspect' }).pcrs.get(0)!);
  expect(codeOf(() => verifyAttestationDocument(real, { root: 'aws', at: 'document', expectedPcrs: { 0: pcr0 } }))).toBe('EXPECTATIONS_MISSING');
  expect(codeOf(() => verifyAttestationDocument(real, { root: 'aws', at: 'document', expectedNonce: Uint8Array.of(1) }))).toBe('EXPECTATIONS_MISSING');
  // With both given, the checks run: this document carries another nonce.
  expect(codeOf(() => verifyAttestationDocument(real, { root: 'aws', at: 'document', expectedPcrs: { 0: pcr0 }, expectedNonce: Uint8Array.of(1) }))).toBe(
    'NONCE_MISMATCH',
  );
});

test('a different pinned root is UNTRUSTED_ROOT, and the message names the root the chain does start at', () => {
  const otherRoot = new Uint8Array(awsRoot);
  otherRoot[otherRoot.length - 1]! ^= 1;
  expect(codeOf(() => verifyAttestationDocument(real, { root: otherRoot, at: 'document' }))).toBe('UNTRUSTED_ROOT');
  expect(() => verifyAttestationDocument(real, { root: { sha256: '00'.repeat(32) }, at: 'document' })).toThrow(
    `the chain does not start at the pinned root certificate, but at one whose sha256 is ${AWS_NITRO_ROOT_G1_SHA256}`,
  );
});

test('truncated or padded documents are MALFORMED', () => {
  expect(codeOf(() => verifyAttestationDocument(real.subarray(0, real.length - 1), { root: 'aws', at: 'document', policy: 'inspect' }))).toBe('MALFORMED');
  expect(codeOf(() => verifyAttestationDocument(Uint8Array.from([...real, 0]), { root: 'aws', at: 'document', policy: 'inspect' }))).toBe('MALFORMED');
  expect(codeOf(() => verifyAttestationDocument(new Uint8Array(0), { root: 'aws', at: 'document', policy: 'inspect' }))).toBe('MALFORMED');
});

test('flipping any single byte of the real document makes it fail with a typed error', () => {
  const seen = new Map<string, number>();
  const copy = new Uint8Array(real);
  for (let i = 0; i < real.length; i++) {
    copy[i]! ^= 0x01;
    const code = codeOf(() => verifyAttestationDocument(copy, { root: 'aws', at: 'document', policy: 'inspect' }));
    copy[i]! ^= 0x01;
    if (code === 'ACCEPTED' || code.startsWith('UNTYPED')) throw new Error(`flipping byte ${i} gave ${code}`);
    seen.set(code, (seen.get(code) ?? 0) + 1);
  }
  // Every kind of check takes part in catching some flip.
  expect([...seen.keys()].sort()).toEqual(['BAD_CHAIN', 'BAD_SIGNATURE', 'MALFORMED', 'NOT_VALID_AT_TIME', 'UNTRUSTED_ROOT']);
}, 600_000);
