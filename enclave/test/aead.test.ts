/**
 * XChaCha20-Poly1305 with OpenSSL's ChaCha20-Poly1305 (src/sealing/aead.ts): the draft's example, and
 * byte-for-byte agreement with an independent implementation (@noble/ciphers) both ways.
 */
import { randomBytes } from 'node:crypto';
import { xchacha20poly1305 as nobleXChaCha } from '@noble/ciphers/chacha.js';
import { xchacha20poly1305 } from '../src/sealing/aead.js';

const hex = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, 'hex'));
const toHex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

describe('XChaCha20-Poly1305 (aead.ts)', () => {
  test('draft-irtf-cfrg-xchacha-03 A.3.1: the published ciphertext and tag, and back', () => {
    const key = hex('808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f');
    const nonce = hex('404142434445464748494a4b4c4d4e4f5051525354555657');
    const aad = hex('50515253c0c1c2c3c4c5c6c7');
    const plaintext = new TextEncoder().encode(
      "Ladies and Gentlemen of the class of '99: If I could offer you only one tip for the future, sunscreen would be it.",
    );
    const sealed = xchacha20poly1305(key, nonce, aad).encrypt(plaintext);
    expect(toHex(sealed)).toBe(
      'bd6d179d3e83d43b9576579493c0e939572a1700252bfaccbed2902c21396cbb731c7f1b0b4aa6440bf3a82f4eda7e39ae64c6708c54c216cb96b72e1213b4522f8c9ba40db5d945b11b69b982c1bb9e3f3fac2bc369488f76b2383565d3fff921f9664c97637da9768812f615c68b13b52e' +
        'c0875924c1c7987947deafd8780acf49',
    );
    expect(new TextDecoder().decode(xchacha20poly1305(key, nonce, aad).decrypt(sealed))).toBe(new TextDecoder().decode(plaintext));
  });

  test('agrees with @noble/ciphers on random keys, nonces, AADs and lengths (0 to 300 bytes), both ways', () => {
    for (let i = 0; i < 300; i++) {
      const key = randomBytes(32);
      const nonce = randomBytes(24);
      const aad = randomBytes(i % 7 === 0 ? 0 : (i * 13) % 200);
      const plaintext = randomBytes(i);
      const ours = xchacha20poly1305(key, nonce, aad).encrypt(plaintext);
      expect(toHex(ours)).toBe(toHex(nobleXChaCha(key, nonce, aad).encrypt(plaintext)));
      expect(toHex(xchacha20poly1305(key, nonce, aad).decrypt(ours))).toBe(toHex(plaintext));
      expect(toHex(nobleXChaCha(key, nonce, aad).decrypt(ours))).toBe(toHex(plaintext));
    }
  });

  test('keys and nonces at any offset of a larger buffer (a subarray) give the same bytes', () => {
    const backing = randomBytes(100);
    const key = backing.subarray(3, 35);
    const nonce = backing.subarray(41, 65);
    const plaintext = randomBytes(77);
    expect(toHex(xchacha20poly1305(key, nonce, backing.subarray(70)).encrypt(plaintext))).toBe(
      toHex(nobleXChaCha(Uint8Array.from(key), Uint8Array.from(nonce), Uint8Array.from(backing.subarray(70))).encrypt(plaintext)),
    );
  });

  test('every flipped bit of the ciphertext or tag, another AAD, key or nonce: refused; the key and nonce are not changed', () => {
    const key = randomBytes(32);
    const nonce = randomBytes(24);
    const aad = randomBytes(40);
    const [keyBefore, nonceBefore] = [toHex(key), toHex(nonce)];
    const sealed = xchacha20poly1305(key, nonce, aad).encrypt(randomBytes(48));
    expect(toHex(key)).toBe(keyBefore);
    expect(toHex(nonce)).toBe(nonceBefore);
    for (let bit = 0; bit < sealed.length * 8; bit += 5) {
      const bad = Uint8Array.from(sealed);
      bad[bit >> 3]! ^= 1 << (bit & 7);
      expect(() => xchacha20poly1305(key, nonce, aad).decrypt(bad)).toThrow();
    }
    expect(() => xchacha20poly1305(key, nonce, randomBytes(40)).decrypt(sealed)).toThrow();
    expect(() => xchacha20poly1305(randomBytes(32), nonce, aad).decrypt(sealed)).toThrow();
    expect(() => xchacha20poly1305(key, randomBytes(24), aad).decrypt(sealed)).toThrow();
    expect(() => xchacha20poly1305(key, nonce, aad).decrypt(sealed.subarray(0, 15))).toThrow();
    expect(() => xchacha20poly1305(key.subarray(1), nonce, aad)).not.toThrow(); // checked at use
    expect(() => xchacha20poly1305(key.subarray(1), nonce, aad).encrypt(new Uint8Array(1))).toThrow(RangeError);
    expect(() => xchacha20poly1305(key, nonce.subarray(1), aad).encrypt(new Uint8Array(1))).toThrow(RangeError);
  });

  test('a plaintext is in memory of its own, not in Node’s shared Buffer pool', () => {
    const key = randomBytes(32);
    const nonce = randomBytes(24);
    const out = xchacha20poly1305(key, nonce, new Uint8Array(0)).decrypt(xchacha20poly1305(key, nonce, new Uint8Array(0)).encrypt(randomBytes(64)));
    expect(out.byteLength).toBe(64);
    expect(out.buffer.byteLength).toBe(64);
  });
});
