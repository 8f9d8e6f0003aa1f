/**
 * src/aead.ts: ChaCha20-Poly1305 and XChaCha20-Poly1305 (the stream cipher in WebAssembly, Poly1305 noble's), sealed
 * and opened, against the published vectors (RFC 8439 §2.8.2, sealed here by OpenSSL; draft-irtf-cfrg-xchacha-03
 * A.3.1), against OpenSSL and noble's AEADs on random inputs, every tampered byte refused. What it leaves in memory:
 * aead-residue.test.ts.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { chacha20poly1305, xchacha20poly1305 } from '@noble/ciphers/chacha.js';
import { openChaCha20Poly1305, openXChaCha20Poly1305, sealChaCha20Poly1305, sealXChaCha20Poly1305 } from '../src/aead.js';

const hex = (h: string): Uint8Array => new Uint8Array(Buffer.from(h.replace(/\s+/g, ''), 'hex'));
const toHex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const SUNSCREEN = new TextEncoder().encode(
  "Ladies and Gentlemen of the class of '99: If I could offer you only one tip for the future, sunscreen would be it.",
);
const AAD = hex('50515253c0c1c2c3c4c5c6c7');
const key32 = (): Uint8Array => randomBytes(32);
const KEY = hex('808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f');

test('RFC 8439 §2.8.2: the tag is the RFC’s (sealed by OpenSSL) and the plaintext comes back', () => {
  const nonce = hex('070000004041424344454647');
  const c = createCipheriv('chacha20-poly1305', KEY, nonce, { authTagLength: 16 });
  c.setAAD(AAD, { plaintextLength: SUNSCREEN.length });
  const sealed = new Uint8Array(Buffer.concat([c.update(SUNSCREEN), c.final(), c.getAuthTag()]));
  expect(toHex(sealed.subarray(0, 16))).toBe('d31a8d34648e60db7b86afbc53ef7ec2');
  expect(toHex(sealed.subarray(-16))).toBe('1ae10b594f09e26a7e902ecbd0600691');
  expect(toHex(openChaCha20Poly1305(KEY, nonce, AAD, sealed))).toBe(toHex(SUNSCREEN));
});

test('draft-irtf-cfrg-xchacha A.3.1: the tag is the draft’s (sealed by noble) and the plaintext comes back', () => {
  const nonce = hex('404142434445464748494a4b4c4d4e4f5051525354555657');
  const sealed = xchacha20poly1305(KEY, nonce, AAD).encrypt(SUNSCREEN);
  expect(toHex(sealed.subarray(0, 16))).toBe('bd6d179d3e83d43b9576579493c0e939');
  expect(toHex(sealed.subarray(-16))).toBe('c0875924c1c7987947deafd8780acf49');
  expect(toHex(openXChaCha20Poly1305(KEY, nonce, AAD, sealed))).toBe(toHex(SUNSCREEN));
});

test('RFC 8439 §2.8.2 and draft-irtf-cfrg-xchacha A.3.1, sealed here: the published ciphertexts and tags', () => {
  const chacha = sealChaCha20Poly1305(KEY, hex('070000004041424344454647'), AAD, SUNSCREEN);
  expect(toHex(chacha.subarray(0, 16))).toBe('d31a8d34648e60db7b86afbc53ef7ec2');
  expect(toHex(chacha.subarray(-16))).toBe('1ae10b594f09e26a7e902ecbd0600691');
  const xchacha = sealXChaCha20Poly1305(KEY, hex('404142434445464748494a4b4c4d4e4f5051525354555657'), AAD, SUNSCREEN);
  expect(toHex(xchacha.subarray(0, 16))).toBe('bd6d179d3e83d43b9576579493c0e939');
  expect(toHex(xchacha.subarray(-16))).toBe('c0875924c1c7987947deafd8780acf49');
});

test('ChaCha20-Poly1305 sealed here opens with OpenSSL, for every length across the block edges', () => {
  for (let len = 0; len <= 200; len++) {
    const key = randomBytes(32);
    const nonce = randomBytes(12);
    const aad = randomBytes(len % 29);
    const pt = randomBytes(len);
    const sealed = sealChaCha20Poly1305(key, nonce, aad, pt);
    const d = createDecipheriv('chacha20-poly1305', key, nonce, { authTagLength: 16 });
    d.setAAD(aad, { plaintextLength: len });
    d.setAuthTag(sealed.subarray(len));
    expect(Buffer.concat([d.update(sealed.subarray(0, len)), d.final()]).equals(pt)).toBe(true);
  }
});

describe.each([
  ['ChaCha20-Poly1305', 12, chacha20poly1305, openChaCha20Poly1305, sealChaCha20Poly1305],
  ['XChaCha20-Poly1305', 24, xchacha20poly1305, openXChaCha20Poly1305, sealXChaCha20Poly1305],
] as const)('%s', (_name, nonceLength, noble, open, seal) => {
  test('seals what noble seals, byte for byte, and opens it again (lengths across blocks and the module’s memory, up to 300 000 bytes)', () => {
    for (const len of [0, 1, 15, 16, 63, 64, 65, 127, 128, 129, 1000, 131_008, 131_072, 300_000]) {
      const key = randomBytes(32);
      const nonce = randomBytes(nonceLength);
      const aad = randomBytes(len % 41);
      const pt = randomBytes(len);
      const sealed = seal(key, nonce, aad, pt);
      expect(Buffer.from(sealed).equals(Buffer.from(noble(key, nonce, aad).encrypt(pt)))).toBe(true);
      expect(Buffer.from(open(key, nonce, aad, sealed)).equals(pt)).toBe(true);
    }
    expect(() => seal(key32(), randomBytes(nonceLength - 1), new Uint8Array(0), new Uint8Array(1))).toThrow(RangeError);
    expect(() => seal(randomBytes(16), randomBytes(nonceLength), new Uint8Array(0), new Uint8Array(1))).toThrow(RangeError);
  });

  test('opens what noble seals, for every length across the block edges and random AAD', () => {
    for (let len = 0; len <= 200; len++) {
      const key = randomBytes(32);
      const nonce = randomBytes(nonceLength);
      const aad = randomBytes(len % 37);
      const pt = randomBytes(len);
      const sealed = noble(key, nonce, aad).encrypt(pt);
      expect(toHex(open(key, nonce, aad, sealed))).toBe(toHex(pt));
    }
  });

  test('refuses every flipped bit of ciphertext, tag and AAD, another key or nonce, and anything shorter than a tag', () => {
    const key = randomBytes(32);
    const nonce = randomBytes(nonceLength);
    const aad = randomBytes(20);
    const sealed = noble(key, nonce, aad).encrypt(randomBytes(70));
    for (let i = 0; i < sealed.length * 8; i++) {
      const bad = sealed.slice();
      bad[i >> 3]! ^= 1 << (i & 7);
      expect(() => open(key, nonce, aad, bad)).toThrow('invalid tag');
    }
    for (let i = 0; i < aad.length; i++) {
      const bad = aad.slice();
      bad[i]! ^= 0x80;
      expect(() => open(key, nonce, bad, sealed)).toThrow('invalid tag');
    }
    expect(() => open(randomBytes(32), nonce, aad, sealed)).toThrow('invalid tag');
    expect(() => open(key, randomBytes(nonceLength), aad, sealed)).toThrow('invalid tag');
    expect(() => open(key, nonce, aad, sealed.subarray(0, 15))).toThrow('invalid tag');
    expect(() => open(key.subarray(0, 16), nonce, aad, sealed)).toThrow(RangeError);
    expect(() => open(key, nonce.subarray(1), aad, sealed)).toThrow(RangeError);
  });
});
