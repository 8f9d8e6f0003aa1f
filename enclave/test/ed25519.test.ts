/**
 * src/signing/ed25519.ts, ed25519 in WebAssembly of our own (Solana keys and signatures): RFC 8032 §7.1's vectors
 * and NIST's ACVP EdDSA KeyGen and SigGen samples; noble and OpenSSL on random seeds and on every message length
 * where SHA-512's padding or the module's input area turns; the module's arithmetic modulo p and modulo L against
 * BigInt on edge and random values; its memory zero after every use, returned or thrown; and the module
 * reproducible from its generator.
 */
import { createPublicKey, randomBytes, verify } from 'node:crypto';
import { ed25519 } from '@noble/curves/ed25519.js';
import { ed25519MemoryIsZero, ed25519PublicKey, signEd25519 } from '../src/signing/ed25519.js';
import { ED25519_WASM_BASE64 } from '../src/signing/ed25519-wasm.js';
import { instantiate } from '../src/wasm.js';
import { expectGenerated, expectNoValueBranches } from './support/wasm-module.js';

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const bytes = (h: string): Uint8Array => new Uint8Array(Buffer.from(h, 'hex'));
const opensslVerifies = (message: Uint8Array, signature: Uint8Array, publicKey: Uint8Array): boolean =>
  verify(null, message, createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: Buffer.from(publicKey).toString('base64url') }, format: 'jwk' }), signature);

// RFC 8032 §7.1, TEST 1 to 3: secret key (the seed), public key, message, signature.
const RFC8032 = [
  [
    '9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60',
    'd75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a',
    '',
    'e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b',
  ],
  [
    '4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb',
    '3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c',
    '72',
    '92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00',
  ],
  [
    'c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7',
    'fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025',
    'af82',
    '6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac18ff9b538d16f290ae67f760984dc6594a7c15e9716ed28dc027beceea1ec40a',
  ],
] as const;

test('RFC 8032 §7.1 TEST 1, 2 and 3: the public keys and signatures, byte for byte', () => {
  for (const [seed, publicKey, message, signature] of RFC8032) {
    expect(hex(ed25519PublicKey(bytes(seed)))).toBe(publicKey);
    const signed = signEd25519(bytes(message), bytes(seed));
    expect(hex(signed.publicKey)).toBe(publicKey);
    expect(hex(signed.signature)).toBe(signature);
  }
  expect(ed25519MemoryIsZero()).toBe(true);
});

test('NIST ACVP EdDSA (ED-25519): KeyGen tcId 1 to 3 and SigGen tcId 1 (a 128-byte message)', () => {
  const keyGen = [
    ['19165f660a63d78678924f2685fc0e868cff1c8969a1889e30705a425d7d9869', '1b2d8a0851500fbef13b18ae3e0a418d45bb803b1635012c906ddc96519c83f4'],
    ['640ca510093f24625b8e43289d35b6df0e7b34365344796edd08afb3d08cb874', '9929129ef72fe01841d2df2b75c80e8a5095efd5758cac6352731282832a5b7d'],
    ['76564304e0bc04e32f65568894d01662c5fcb3afcd77705a6447c767bbb5deea', 'edee7099ae2c4476cf78c9728e7a23e20da651feb2f2af9734096a4dc7ab4cbf'],
  ];
  for (const [seed, publicKey] of keyGen) expect(hex(ed25519PublicKey(bytes(seed!)))).toBe(publicKey);
  const message = bytes(
    'f495660a1fc6a591b0e2fb90574e3a28e485152ecf6c5745c137e2c53e619832d58a5f101b3eeaf88887df1552ab16613e87aa4f38c91453a5824809be2e198ff84e3c6eaf79af8fd44ef7e4c0fdc70941a0f457f1908011f80e89cbcebe47806c9f131ab5580132de9be0b9db0d622f4d16c805ae852f0b68f1c6b1ab8e2bb4',
  );
  const { signature } = signEd25519(message, bytes('60b9c57ea605c9147656883781ed28c847682faa3c7ad8fbe2fd9daf263c803c'));
  expect(hex(signature)).toBe(
    'f9593859640fd47fa3a67f6cf00184b9696a2928f0013a72411325d7356af72460c26ddeb3b6a6c1bc89224179f72f75c8e3be6d2f9ef6002f29bce680c0b203',
  );
});

test('noble’s signatures and keys, and OpenSSL verifies them: random seeds, every message length across the padding and the input area', () => {
  // The nonce hashes 32 bytes of prefix then the message, the challenge 64 bytes then it: SHA-512's padding turns
  // at 112 bytes of a block, the module's input area at 8,192.
  const lengths = [...Array.from({ length: 300 }, (_, i) => i), ...[8192 - 64, 8192 - 32, 8192].flatMap((n) => [n - 1, n, n + 1]), 16384 + 5, 100_000];
  for (const length of lengths) {
    const seed = randomBytes(32);
    const message = randomBytes(length);
    const { signature, publicKey } = signEd25519(message, seed);
    if (hex(publicKey) !== hex(ed25519.getPublicKey(seed))) throw new Error(`public key, message of ${length} bytes`);
    if (hex(signature) !== hex(ed25519.sign(message, seed))) throw new Error(`signature, message of ${length} bytes`);
    if (!opensslVerifies(message, signature, publicKey)) throw new Error(`OpenSSL refuses, message of ${length} bytes`);
  }
  expect(ed25519MemoryIsZero()).toBe(true);
});

test('a seed that is not 32 bytes is refused, and nothing is left in the memory', () => {
  expect(() => signEd25519(new Uint8Array(1), new Uint8Array(31))).toThrow(RangeError);
  expect(() => ed25519PublicKey(new Uint8Array(33))).toThrow(RangeError);
  expect(ed25519MemoryIsZero()).toBe(true);
});

describe('the arithmetic modulo p and L (a module of its own, through its exports)', () => {
  interface Module {
    fmul(o: number, a: number, b: number): void;
    fadd(o: number, a: number, b: number): void;
    fsub(o: number, a: number, b: number): void;
    finv(o: number, a: number): void;
    freeze(o: number, a: number): void;
    reduce(o: number, wide: number): void;
    mulAdd(o: number, a: number, b: number, c: number): void;
  }
  const m = instantiate<Module>(ED25519_WASM_BASE64);
  const memory = new Uint8Array(m.memory.buffer);
  const P = (1n << 255n) - 19n;
  const L = (1n << 252n) + 27742317777372353535851937790883648493n;
  // Below 1152 (the module's own temporaries start there): a, b, c, out, and a 64-byte input.
  const [A, B, C, OUT, WIDE] = [0, 32, 64, 96, 128];
  const write = (at: number, v: bigint, length = 32): void => {
    for (let i = 0; i < length; i++) memory[at + i] = Number((v >> BigInt(8 * i)) & 0xffn);
  };
  const read = (at: number, length = 32): bigint => {
    let v = 0n;
    for (let i = length - 1; i >= 0; i--) v = (v << 8n) | BigInt(memory[at + i]!);
    return v;
  };
  const random = (bits: number): bigint => BigInt(`0x${randomBytes(bits / 8).toString('hex')}`);
  // The field computes modulo 2p (results below 2p), reduced below p by freeze.
  const fieldEdges = [
    0n,
    1n,
    2n,
    18n,
    19n,
    37n,
    38n,
    39n,
    P - 1n,
    P,
    P + 1n,
    2n * P - 1n,
    2n * P - 2n,
    (1n << 255n) - 1n,
    1n << 255n,
    (1n << 32n) - 1n,
    (1n << 224n) - 1n,
  ];
  const fieldValues = [...fieldEdges, ...Array.from({ length: 30 }, () => random(256) % (2n * P))];
  const modP = (v: bigint): bigint => ((v % P) + P) % P;

  test('a·b, a + b, a − b are right modulo p and below 2p; freeze reduces below p', () => {
    for (const a of fieldValues) {
      for (const b of fieldValues) {
        write(A, a);
        write(B, b);
        for (const [op, expected] of [
          [m.fmul, a * b],
          [m.fadd, a + b],
          [m.fsub, a - b],
        ] as const) {
          op(OUT, A, B);
          const got = read(OUT);
          if (got >= 2n * P || modP(got) !== modP(expected)) throw new Error(`${op.name}(${a}, ${b}) = ${got}`);
          m.freeze(OUT, OUT);
          if (read(OUT) !== modP(expected)) throw new Error(`freeze of ${op.name}(${a}, ${b})`);
        }
      }
    }
  });

  test('the inverse modulo p: a · a⁻¹ ≡ 1 for a ≢ 0', () => {
    for (const a of fieldValues) {
      write(A, a);
      m.finv(OUT, A);
      m.freeze(OUT, OUT);
      if (modP(a) === 0n) expect(read(OUT)).toBe(0n);
      else expect(modP(read(OUT) * a)).toBe(1n);
    }
  });

  test('reduce: a 512-bit number mod L; mulAdd: (a·b + c) mod L for any 256-bit a, b, c', () => {
    const wideEdges = [0n, 1n, L - 1n, L, L + 1n, 2n * L, (1n << 512n) - 1n, (1n << 256n) - 1n, 1n << 511n, L * L, ((1n << 512n) / L) * L - 1n];
    for (const v of [...wideEdges, ...Array.from({ length: 200 }, () => random(512))]) {
      write(WIDE, v, 64);
      m.reduce(OUT, WIDE);
      expect(read(OUT)).toBe(v % L);
    }
    const edges = [0n, 1n, L - 1n, L, (1n << 256n) - 1n, 1n << 255n, 1n << 252n];
    const values = [...edges, ...Array.from({ length: 20 }, () => random(256))];
    for (const a of values) {
      for (const b of values) {
        const c = random(256);
        write(A, a);
        write(B, b);
        write(C, c);
        m.mulAdd(OUT, A, B, C);
        if (read(OUT) !== (a * b + c) % L) throw new Error(`(${a} · ${b} + ${c}) mod L`);
      }
    }
  });
});

test('the module has no branch on a value: no if, select or br_table; the scalar’s nibble only compared, never an address', () => {
  expectNoValueBranches('ed25519.wat');
});

test('the module is what its generator writes (ed25519.wat and the base64 binary, via wabt)', () => {
  expectGenerated('ed25519-wasm.mjs');
});
