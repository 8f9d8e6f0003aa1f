/**
 * src/aead.ts: ChaCha20-Poly1305 and XChaCha20-Poly1305 opened from noble's stream function and Poly1305, against
 * the published vectors (RFC 8439 §2.8.2; draft-irtf-cfrg-xchacha-03 A.3.1, sealed here by OpenSSL and by noble's own
 * AEAD), against noble's AEAD on random inputs, every tampered byte refused; and what it is for: after it, no
 * keystream of a plaintext block (nor the plaintext) is left in the process's memory, where noble's AEAD leaves the
 * last block's (a child process searches its own memory: support/keystream-residue.mjs; needs the build).
 */
import { execFileSync } from 'node:child_process';
import { createCipheriv, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chacha20poly1305, xchacha20poly1305 } from '@noble/ciphers/chacha.js';
import { openChaCha20Poly1305, openXChaCha20Poly1305 } from '../src/aead.js';

const hex = (h: string): Uint8Array => new Uint8Array(Buffer.from(h.replace(/\s+/g, ''), 'hex'));
const toHex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const SUNSCREEN = new TextEncoder().encode(
  "Ladies and Gentlemen of the class of '99: If I could offer you only one tip for the future, sunscreen would be it.",
);
const AAD = hex('50515253c0c1c2c3c4c5c6c7');
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

describe.each([
  ['ChaCha20-Poly1305', 12, chacha20poly1305, openChaCha20Poly1305],
  ['XChaCha20-Poly1305', 24, xchacha20poly1305, openXChaCha20Poly1305],
] as const)('%s', (_name, nonceLength, noble, open) => {
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

const residueTest = process.platform === 'linux' ? test : test.skip;
residueTest.each(['chacha', 'xchacha'] as const)(
  'after %s opens, no keystream of the plaintext is left in memory; after noble’s own AEAD, there is',
  (cipher) => {
    const dir = mkdtempSync(join(tmpdir(), 'aead-residue-'));
    try {
      const noble = cipher === 'xchacha' ? xchacha20poly1305 : chacha20poly1305;
      const LEN = 176; // the needles (last block + 16, the last 16 bytes) at multiples of 16: the child searches 4-aligned offsets
      const last = 64 * Math.floor((LEN - 1) / 64);
      const messages = Array.from({ length: 200 }, () => {
        const key = randomBytes(32);
        const nonce = randomBytes(cipher === 'xchacha' ? 24 : 12);
        const aad = randomBytes(12);
        const pt = randomBytes(LEN);
        const sealed = noble(key, nonce, aad).encrypt(pt);
        const keystream = sealed.subarray(last + 16, last + 32).map((b, j) => b ^ pt[last + 16 + j]!);
        return {
          key: toHex(key),
          nonce: toHex(nonce),
          aad: toHex(aad),
          sealed: toHex(sealed),
          keystream: toHex(keystream),
          tail: toHex(pt.subarray(LEN - 16)),
        };
      });
      const file = join(dir, 'messages.json');
      writeFileSync(file, JSON.stringify({ cipher, messages }));
      const child = fileURLToPath(new URL('./support/keystream-residue.mjs', import.meta.url));
      const run = (mode: string): { keystreamBlocksFound: number; plaintextTailsFound: number } =>
        JSON.parse(execFileSync(process.execPath, [child, mode, file], { encoding: 'utf8' })) as { keystreamBlocksFound: number; plaintextTailsFound: number };
      // The control: the search finds what noble's AEAD leaves (a third to a half of the messages in trials).
      expect(run('noble').keystreamBlocksFound).toBeGreaterThan(10);
      expect(run('ours')).toEqual({ keystreamBlocksFound: 0, plaintextTailsFound: 0 });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  },
  180_000,
);
