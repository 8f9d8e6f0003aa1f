/**
 * src/chacha/chacha20.ts, the enclave's ChaCha20 and XChaCha20 in WebAssembly: the published vectors (RFC 8439
 * §2.3.2 and §2.4.2, draft-irtf-cfrg-xchacha §2.2.1), OpenSSL's ChaCha20 and noble's XChaCha20 on random inputs
 * across block and chunk edges, its memory zero after every call (returned or thrown), and the module reproducible
 * from its generator.
 */
import { execFileSync } from 'node:child_process';
import { createCipheriv, randomBytes, randomInt } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { hchacha, xchacha20 } from '@noble/ciphers/chacha.js';
import { poly1305 as noblePoly1305 } from '@noble/ciphers/_poly1305.js';
import { chacha20Xor, hchacha20, memoryIsZero, poly1305, xchacha20Xor } from '../src/chacha/chacha20.js';

const hex = (h: string): Uint8Array => new Uint8Array(Buffer.from(h.replace(/[\s:]+/g, ''), 'hex'));
const toHex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const KEY = hex('000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f');

/** OpenSSL's ChaCha20: its 16-byte IV is the 32-bit block counter (little-endian) and the 96-bit nonce. */
function openssl(key: Uint8Array, nonce: Uint8Array, counter: number, input: Uint8Array): Uint8Array {
  const iv = Buffer.alloc(16);
  iv.writeUInt32LE(counter, 0);
  iv.set(nonce, 4);
  const c = createCipheriv('chacha20', key, iv);
  return new Uint8Array(Buffer.concat([c.update(input), c.final()]));
}
const ours = (key: Uint8Array, nonce: Uint8Array, counter: number, input: Uint8Array): Uint8Array => {
  const out = new Uint8Array(input.length);
  (nonce.length === 24 ? xchacha20Xor : chacha20Xor)(key, nonce, counter, input, out);
  return out;
};

test('RFC 8439 §2.3.2: the block function’s test vector (block 1 of the key 00…1f)', () => {
  const block = ours(KEY, hex('000000090000004a00000000'), 1, new Uint8Array(64));
  expect(toHex(block)).toBe(
    '10f1e7e4d13b5915500fdd1fa32071c4c7d1f4c733c068030422aa9ac3d46c4e' + 'd2826446079faa0914c2d705d98b02a2b5129cd1de164eb9cbd083e8a2503c4e',
  );
  expect(memoryIsZero()).toBe(true);
});

test('RFC 8439 §2.4.2: the sunscreen text, encrypted from block 1', () => {
  const sunscreen = new TextEncoder().encode(
    "Ladies and Gentlemen of the class of '99: If I could offer you only one tip for the future, sunscreen would be it.",
  );
  const ciphertext = ours(KEY, hex('000000000000004a00000000'), 1, sunscreen);
  expect(toHex(ciphertext)).toBe(
    '6e2e359a2568f98041ba0728dd0d6981e97e7aec1d4360c20a27afccfd9fae0bf91b65c5524733ab8f593dabcd62b3571639d624e65152ab8f530c359f0861d8' +
      '07ca0dbf500d6a6156a38e088a22b65e52bc514d16ccf806818ce91ab77937365af90bbf74a35be6b40b8eedf2785e42874d',
  );
  expect(toHex(ours(KEY, hex('000000000000004a00000000'), 1, ciphertext))).toBe(toHex(sunscreen));
});

test('draft-irtf-cfrg-xchacha §2.2.1: HChaCha20’s test vector, and the same subkey as noble’s', () => {
  const nonce = hex('000000090000004a0000000031415927');
  const subkey = new Uint8Array(32);
  hchacha20(KEY, nonce, subkey);
  expect(toHex(subkey)).toBe('82413b4227b27bfed30e42508a877d73a0f9e4d58a74a853c12ec41326d3ecdc');
  const noble = new Uint32Array(8);
  const u32 = (b: Uint8Array): Uint32Array => new Uint32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.length));
  hchacha(u32(hex('657870616e642033322d62797465206b')), u32(KEY), u32(nonce), noble);
  expect(toHex(new Uint8Array(noble.buffer))).toBe(toHex(subkey));
  expect(memoryIsZero()).toBe(true);
});

test('RFC 8439 §2.5.2: Poly1305’s test vector', () => {
  const key = hex('85d6be7857556d337f4452fe42d506a80103808afb0db2fd4abff6af4149f51b');
  expect(toHex(poly1305(key, new TextEncoder().encode('Cryptographic Forum Research Group')))).toBe('a8061dc1305136c6c22b8baf0c0127a9');
  expect(memoryIsZero()).toBe(true);
});

test.each([
  // RFC 8439 A.3, the vectors for the final reduction: #5 (partly reduced, not fully), #6 (s overflowing 2^128),
  // #7 (an all-ones limb with a carry into it), #8 (exactly 2^130 − 5), #9 (exactly 2^130 − 6).
  ['#5', '02' + '00'.repeat(31), 'ff'.repeat(16), '03' + '00'.repeat(15)],
  ['#6', '02' + '00'.repeat(15) + 'ff'.repeat(16), '02' + '00'.repeat(15), '03' + '00'.repeat(15)],
  ['#7', '01' + '00'.repeat(31), 'ff'.repeat(16) + 'f0' + 'ff'.repeat(15) + '11' + '00'.repeat(15), '05' + '00'.repeat(15)],
  ['#8', '01' + '00'.repeat(31), 'ff'.repeat(16) + 'fb' + 'fe'.repeat(15) + '01'.repeat(16), '00'.repeat(16)],
  ['#9', '02' + '00'.repeat(31), 'fd' + 'ff'.repeat(15), 'fa' + 'ff'.repeat(15)],
])('RFC 8439 A.3 Poly1305 %s', (_n, key, message, tag) => {
  expect(toHex(poly1305(hex(key), hex(message)))).toBe(tag);
  expect(toHex(noblePoly1305(hex(message), hex(key)))).toBe(tag);
});

test('Poly1305 equals noble’s for every length across blocks and the memory, and for keys and messages at the limits', () => {
  const lengths = [...Array.from({ length: 200 }, (_, i) => i), 131_071, 131_072, 131_073, 300_001];
  for (const len of lengths) {
    const key = randomBytes(32);
    const message = randomBytes(len);
    expect(toHex(poly1305(key, message))).toBe(toHex(noblePoly1305(message, key)));
  }
  // All-ones messages and keys (r clamped to its largest, s all ones): the accumulator near 2^130 − 5 and the final
  // addition of s carrying out of 128 bits; all-zero r (the tag is s).
  const ones = new Uint8Array(32).fill(0xff);
  const zeroR = new Uint8Array(32).fill(0xff).fill(0, 0, 16);
  for (const key of [ones, zeroR, new Uint8Array(32)]) {
    for (const len of [0, 1, 15, 16, 17, 32, 64, 1000]) {
      const message = new Uint8Array(len).fill(0xff);
      expect(toHex(poly1305(key, message))).toBe(toHex(noblePoly1305(message, key)));
    }
  }
  expect(memoryIsZero()).toBe(true);
});

test('ChaCha20 equals OpenSSL’s for every length across the block edges, any counter, in place too', () => {
  for (let len = 0; len <= 260; len++) {
    const key = randomBytes(32);
    const nonce = randomBytes(12);
    const counter = len % 3 === 0 ? randomInt(0, 2 ** 32 - 64) : len % 3;
    const input = new Uint8Array(randomBytes(len));
    expect(toHex(ours(key, nonce, counter, input))).toBe(toHex(openssl(key, nonce, counter, input)));
    const inPlace = input.slice();
    chacha20Xor(key, nonce, counter, inPlace, inPlace);
    expect(toHex(inPlace)).toBe(toHex(openssl(key, nonce, counter, input)));
  }
  expect(memoryIsZero()).toBe(true);
});

test('XChaCha20 equals noble’s for every length across the block edges', () => {
  for (let len = 0; len <= 260; len++) {
    const key = randomBytes(32);
    const nonce = randomBytes(24);
    const input = new Uint8Array(randomBytes(len));
    const counter = len % 5;
    expect(toHex(ours(key, nonce, counter, input))).toBe(toHex(xchacha20(key, nonce, input, undefined, counter)));
  }
});

test('inputs longer than the module’s memory go through in chunks, the counter running on across them', () => {
  for (const len of [131_007, 131_008, 131_009, 300_001]) {
    const key = randomBytes(32);
    const nonce = randomBytes(12);
    const input = new Uint8Array(randomBytes(len));
    expect(Buffer.from(ours(key, nonce, 7, input)).equals(Buffer.from(openssl(key, nonce, 7, input)))).toBe(true);
    const nonce24 = randomBytes(24);
    expect(Buffer.from(ours(key, nonce24, 0, input)).equals(Buffer.from(xchacha20(key, nonce24, input)))).toBe(true);
  }
  expect(memoryIsZero()).toBe(true);
});

test('overlapping input and output: any overlap in one chunk (copied whole first); a shifted overlap across chunks refused', () => {
  const key = randomBytes(32);
  const nonce = randomBytes(12);
  const buffer = new Uint8Array(randomBytes(301));
  const original = buffer.slice(0, 300);
  chacha20Xor(key, nonce, 0, buffer.subarray(0, 300), buffer.subarray(1, 301));
  expect(toHex(buffer.subarray(1))).toBe(toHex(openssl(key, nonce, 0, original)));
  const long = new Uint8Array(300_001);
  expect(() => chacha20Xor(key, nonce, 0, long.subarray(0, 300_000), long.subarray(1))).toThrow('the same bytes or apart');
  const inPlace = new Uint8Array(randomBytes(300_000));
  const copy = inPlace.slice();
  chacha20Xor(key, nonce, 3, inPlace, inPlace);
  expect(Buffer.from(inPlace).equals(Buffer.from(openssl(key, nonce, 3, copy)))).toBe(true);
  expect(memoryIsZero()).toBe(true);
});

test('wrong sizes and a counter past 2^32 are refused, and the memory is zero after a refusal', () => {
  const out = new Uint8Array(64);
  const block = new Uint8Array(64);
  expect(() => chacha20Xor(new Uint8Array(31), new Uint8Array(12), 0, block, out)).toThrow('the key is 32 bytes');
  expect(() => chacha20Xor(KEY, new Uint8Array(24), 0, block, out)).toThrow('the nonce is 12 bytes');
  expect(() => xchacha20Xor(KEY, new Uint8Array(12), 0, block, out)).toThrow('the nonce is 24 bytes');
  expect(() => chacha20Xor(KEY, new Uint8Array(12), 0, block, new Uint8Array(63))).toThrow('as long as the input');
  expect(memoryIsZero()).toBe(true);
  // The last block may have counter 2^32 − 1; one more would wrap.
  expect(() => chacha20Xor(KEY, new Uint8Array(12), 2 ** 32 - 1, block, out)).not.toThrow();
  expect(() => chacha20Xor(KEY, new Uint8Array(12), 2 ** 32 - 1, new Uint8Array(65), new Uint8Array(65))).toThrow('2^32');
  expect(() => chacha20Xor(KEY, new Uint8Array(12), -1, block, out)).toThrow('2^32');
  expect(memoryIsZero()).toBe(true);
});

test('the module is what its generator writes (chacha20.wat and the base64 binary, via wabt)', () => {
  const script = fileURLToPath(new URL('../scripts/chacha20-wasm.mjs', import.meta.url));
  expect(() => execFileSync(process.execPath, [script, '--check'], { stdio: 'pipe' })).not.toThrow();
});
