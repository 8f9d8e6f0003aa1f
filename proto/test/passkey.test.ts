/** The passkey contract both sides compute: the challenge of a binding, the per-wallet PRF salt, the registration digest. */
import { createHash, randomBytes } from 'node:crypto';
import {
  fromBase64Url,
  passkeyBindingBytes,
  passkeyChallenge,
  passkeyPrfSalt,
  passkeyRegistrationDigest,
  passkeyRemovalDigest,
  toBase64Url,
} from '../src/passkey.js';

const sha = (...parts: Array<Buffer | string>): Buffer =>
  createHash('sha256')
    .update(Buffer.concat(parts.map((p) => (typeof p === 'string' ? Buffer.from(p) : p))))
    .digest();
/** An independent writer of the canonical form: u16 length ‖ UTF-8, by Buffer. */
const f = (s: string): Buffer => {
  const b = Buffer.from(s, 'utf8');
  const len = Buffer.alloc(2);
  len.writeUInt16BE(b.length);
  return Buffer.concat([len, b]);
};

const sign = {
  purpose: 'sign',
  sub: 'user-1',
  walletId: 'w-1',
  network: 'evm',
  address: '0x9858EfFD232B4033E47d90003D41EC34EcaEda94',
  kind: 'evm-transaction',
  digest: '0x' + 'ab'.repeat(32),
  exp: 1795000000,
  nonce: '00112233445566778899aabbccddeeff',
};

test('the challenge is SHA-256 of the label and the fields in order, absent ones empty', () => {
  const expected = Buffer.concat([
    Buffer.from('enclave-wallet/passkey-challenge/v1'),
    ...['1', 'sign', 'user-1', 'w-1', 'evm', sign.address, 'evm-transaction', '', sign.digest, '1795000000', sign.nonce].map(f),
  ]);
  expect(Buffer.from(passkeyBindingBytes(sign)).equals(expected)).toBe(true);
  expect(Buffer.from(passkeyChallenge(sign)).equals(sha(expected))).toBe(true);
  // A published value, so that a client in another language can check itself against it.
  expect(toBase64Url(passkeyChallenge(sign))).toBe('JBaMw7wFC-dAj2Ud5A4zUBvgVnEo15WNUjJQUEpxDJk');
});

test('every field changes the challenge, and moving a value to another field does too', () => {
  const base = Buffer.from(passkeyChallenge(sign)).toString('hex');
  const variants = [
    { ...sign, purpose: 'export' },
    { ...sign, sub: 'user-2' },
    { ...sign, walletId: 'w-2' },
    { ...sign, network: 'solana' },
    { ...sign, address: sign.address.toLowerCase() },
    { ...sign, kind: 'evm-message' },
    { ...sign, cluster: 'devnet' },
    { ...sign, digest: '0x' + 'cd'.repeat(32) },
    { ...sign, exp: sign.exp + 1 },
    { ...sign, nonce: 'f'.repeat(32) },
    { ...sign, walletId: undefined, network: 'w-1' },
  ];
  const seen = new Set([base]);
  for (const v of variants) seen.add(Buffer.from(passkeyChallenge(v)).toString('hex'));
  expect(seen.size).toBe(variants.length + 1);
  expect(() => passkeyChallenge({ ...sign, exp: 0 })).toThrow(RangeError);
});

test('the PRF salt is per wallet: SHA-256(label ‖ 0 ‖ walletId)', () => {
  expect(Buffer.from(passkeyPrfSalt('w-1')).equals(sha('enclave-wallet/passkey-prf/v1', Buffer.of(0), 'w-1'))).toBe(true);
  expect(toBase64Url(passkeyPrfSalt('w-1'))).toBe('EzyEU_AX_Coi5LpOTRdqgXqQlDsHLsL9Pdrjmnct1Cc');
  expect(Buffer.from(passkeyPrfSalt('w-1')).equals(Buffer.from(passkeyPrfSalt('w-2')))).toBe(false);
  expect(() => passkeyPrfSalt('')).toThrow(RangeError);
});

test('the registration digest covers the credential id, the algorithm and the key', () => {
  const credentialId = randomBytes(20);
  const publicKey = randomBytes(91);
  const alg = Buffer.alloc(4);
  alg.writeInt32BE(-7);
  const len = (b: Buffer): Buffer => Buffer.from([b.length >> 8, b.length & 0xff]);
  const expected = sha('enclave-wallet/passkey-registration/v1', len(credentialId), credentialId, alg, len(publicKey), publicKey);
  expect(passkeyRegistrationDigest({ credentialId, algorithm: -7, publicKey })).toBe('0x' + expected.toString('hex'));
  expect(passkeyRegistrationDigest({ credentialId, algorithm: -8, publicKey })).not.toBe('0x' + expected.toString('hex'));
  expect(passkeyRemovalDigest(credentialId)).toBe('0x' + sha(credentialId).toString('hex'));
});

test('base64url round-trips against Node’s encoder, from text and from ASCII bytes', () => {
  for (let n = 0; n < 70; n++) {
    const bytes = randomBytes(n);
    const text = bytes.toString('base64url');
    expect(toBase64Url(bytes)).toBe(text);
    expect(Buffer.from(fromBase64Url(text)).equals(bytes)).toBe(true);
    expect(Buffer.from(fromBase64Url(new TextEncoder().encode(text))).equals(bytes)).toBe(true);
  }
  for (const bad of ['a', 'ab=c', 'ab+c', 'ab/c', 'abc=']) expect(() => fromBase64Url(bad)).toThrow(RangeError);
});
