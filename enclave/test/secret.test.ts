/** SecretBytes: memory of its own (never Node's Buffer pool), zeroed by dispose and `using`, never serialised or printed. */
import { inspect } from 'node:util';
import { hkdf } from '@noble/hashes/hkdf.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { EnvelopeKey, PIN_ENVELOPE_INFO, sealTo } from '../src/envelope/hpke.js';
import { ENTROPY_INFO, walletEntropy } from '../src/keys/entropy.js';
import { encodeWalletSecret } from '../src/sealing/blob.js';
import { SecretBytes } from '../src/secret.js';

test('a secret owns its memory, also when copied, sliced or adopted from a pooled Buffer', () => {
  const pooled = Buffer.from('493817'); // small Buffers share Node's pool
  expect(pooled.buffer.byteLength).toBeGreaterThan(pooled.length);
  const s = SecretBytes.adopt(pooled);
  expect(pooled.every((b) => b === 0)).toBe(true);
  for (const x of [s, SecretBytes.copyOf(s), s.slice(1), SecretBytes.alloc(4)]) {
    expect(x).toBeInstanceOf(SecretBytes);
    expect(x.byteOffset).toBe(0);
    expect(x.buffer.byteLength).toBe(x.length);
  }
});

test('dispose and `using` zero it', () => {
  const kept: SecretBytes[] = [];
  {
    using s = SecretBytes.copyOf(new Uint8Array([1, 2, 3]));
    kept.push(s);
    expect([...s]).toEqual([1, 2, 3]);
  }
  expect([...kept[0]!]).toEqual([0, 0, 0]);
  const t = SecretBytes.copyOf(new Uint8Array([9]));
  t.dispose();
  t.dispose();
  expect([...t]).toEqual([0]);
});

test('it refuses to be serialised and prints no byte', () => {
  const s = SecretBytes.copyOf(new TextEncoder().encode('493817'));
  expect(() => JSON.stringify({ pin: s })).toThrow(TypeError);
  expect(String(s)).toBe('[secret 6 bytes]');
  expect(`${s}`).toBe('[secret 6 bytes]');
  expect(inspect({ pin: s })).toBe('{ pin: [secret 6 bytes] }');
  expect(inspect(s)).not.toContain('52');
});

describe('the secrets the enclave makes are SecretBytes of their own memory', () => {
  const ownsMemory = (x: Uint8Array): void => {
    expect(x).toBeInstanceOf(SecretBytes);
    expect(x.byteOffset).toBe(0);
    expect(x.buffer.byteLength).toBe(x.length);
  };

  test("a new wallet's entropy: HKDF-SHA256 of the three sources (unchanged), whose inputs are zeroed", async () => {
    const kms = new Uint8Array(32).fill(1);
    const platform = new Uint8Array(32).fill(2);
    const local = new Uint8Array(32).fill(3);
    const ikm = new Uint8Array([...kms, ...platform, ...local]);
    const expected = hkdf(sha256, ikm, undefined, ENTROPY_INFO, 32);
    const entropy = await walletEntropy({ kms: async () => kms, platform: () => platform, local: () => local }, 32);
    ownsMemory(entropy);
    expect([...entropy]).toEqual([...expected]);
    for (const input of [kms, platform, local]) expect(input.every((b) => b === 0)).toBe(true);
    entropy.dispose();
    expect(entropy.every((b) => b === 0)).toBe(true);
    const code = await walletEntropy({ kms: async () => new Uint8Array(32), platform: () => new Uint8Array(32) }, 16);
    ownsMemory(code);
    expect(code).toHaveLength(16);
  });

  test("an envelope's plaintext, as opened", async () => {
    const key = await EnvelopeKey.generate();
    const plaintext = await key.open(await sealTo(key.publicKey, PIN_ENVELOPE_INFO, new TextEncoder().encode('{"pin":"493817"}')), PIN_ENVELOPE_INFO);
    ownsMemory(plaintext);
    expect(new TextDecoder().decode(plaintext)).toBe('{"pin":"493817"}');
  });

  test("a blob's plaintext, as encoded for sealing", () => {
    const entropy = new Uint8Array(32).fill(7);
    const seed = new Uint8Array(64).fill(8);
    for (const version of [2, 4]) {
      const plaintext = encodeWalletSecret(version, { entropy, seed });
      ownsMemory(plaintext);
      expect(plaintext).toHaveLength(version < 3 ? 32 : 96);
    }
  });
});
