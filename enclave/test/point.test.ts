/**
 * src/signing/point.ts, secp256k1's k·G in WebAssembly of our own (the EVM signature's self-check): against noble
 * and OpenSSL on every entry of its table (j·16^i·G), on edge scalars and on random ones; its field arithmetic
 * against BigInt on the values where carries and reductions turn (p − 1, 2^256 − 1 limbs, …); its memory zero
 * after every use; and the module reproducible from its generator.
 */
import { createECDH, randomBytes } from 'node:crypto';
import { secp256k1 } from '@noble/curves/secp256k1.js';
import { multiplyBase, pointMemoryIsZero } from '../src/signing/point.js';
import { POINT_WASM_BASE64 } from '../src/signing/secp256k1-point-wasm.js';
import { instantiate } from '../src/wasm.js';
import { expectGenerated, expectNoValueBranches } from './support/wasm-module.js';

const P = 0xfffffffffffffffffffffffffffffffffffffffffffffffffffffffefffffc2fn;
const N = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n;
const be = (v: bigint): Uint8Array => new Uint8Array(Buffer.from(v.toString(16).padStart(64, '0'), 'hex'));
const big = (b: Uint8Array): bigint => BigInt(`0x${Buffer.from(b).toString('hex') || '0'}`);
const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const randomScalar = (): bigint => (big(randomBytes(32)) % (N - 1n)) + 1n;
const openssl = (k: Uint8Array): string => {
  const ecdh = createECDH('secp256k1');
  ecdh.setPrivateKey(k);
  return ecdh.getPublicKey('hex', 'uncompressed');
};

test('k·G equals noble’s for every entry of the table: j·16^i for 0 ≤ i < 64, 1 ≤ j < 16', () => {
  let cases = 0;
  for (let i = 0; i < 64; i++) {
    for (let j = 1n; j < 16n; j++) {
      const k = be(j << BigInt(4 * i)); // below n: 15·16^63 = 15·2^252 < n
      const got = hex(multiplyBase(k));
      if (got !== hex(secp256k1.getPublicKey(k, false))) throw new Error(`${j}·16^${i}: ${got}`);
      cases++;
    }
  }
  expect(cases).toBe(64 * 15);
  expect(pointMemoryIsZero()).toBe(true);
});

test('k·G equals noble’s and OpenSSL’s on edge scalars and 500 random ones', () => {
  const edges = [1n, 2n, 3n, 15n, 16n, 17n, N - 1n, N - 2n, N >> 1n, (N >> 1n) + 1n, 1n << 255n, (1n << 252n) - 1n, (1n << 128n) - 1n, N - (1n << 128n)];
  for (const v of [...edges, ...Array.from({ length: 500 }, randomScalar)]) {
    const k = be(v);
    const got = hex(multiplyBase(k));
    expect(got).toBe(hex(secp256k1.getPublicKey(k, false)));
    expect(got).toBe(openssl(k));
  }
  expect(pointMemoryIsZero()).toBe(true);
});

test('a scalar that is not 32 bytes, or a multiple of n (k·G the point at infinity), is refused, and nothing is left in the memory', () => {
  expect(() => multiplyBase(new Uint8Array(31))).toThrow(RangeError);
  expect(() => multiplyBase(new Uint8Array(33))).toThrow(RangeError);
  expect(() => multiplyBase(be(0n))).toThrow('infinity');
  expect(() => multiplyBase(be(N))).toThrow('infinity');
  expect(hex(multiplyBase(be(N + 1n)))).toBe(hex(secp256k1.getPublicKey(be(1n), false)));
  multiplyBase(be(N - 1n));
  expect(pointMemoryIsZero()).toBe(true);
});

describe('the field arithmetic modulo p (a module of its own, through its exports)', () => {
  interface Field {
    fmul(o: number, a: number, b: number): void;
    fadd(o: number, a: number, b: number): void;
    fsub(o: number, a: number, b: number): void;
    fmul21(o: number, a: number): void;
    finv(o: number, a: number): void;
  }
  const field = instantiate<Field>(POINT_WASM_BASE64);
  const memory = new Uint8Array(field.memory.buffer);
  // Addresses in the work area (below 2048), away from what the exports use as temporaries (from 128).
  const [A, B, OUT] = [0, 32, 64];
  const write = (at: number, v: bigint): void => memory.set(be(v).reverse(), at);
  const read = (at: number): bigint => big(memory.slice(at, at + 32).reverse());
  const edges = [
    0n,
    1n,
    2n,
    976n,
    977n,
    978n,
    P - 1n,
    P - 2n,
    P - 977n,
    (1n << 256n) - P, // C = 2^32 + 977
    (1n << 255n) - 1n,
    1n << 255n,
    (1n << 224n) - 1n,
    (1n << 32n) - 1n,
    1n << 32n,
    0xffffffffn * ((1n << 224n) / 0xffffffffn), // limbs of 0xffffffff below the top
    P >> 1n,
    (P >> 1n) + 1n,
    // (p − s)(p − t) with s·t ≥ C makes the product's first fold carry out of 2^256, and so the second fold run
    P - (1n << 16n),
    P - (1n << 17n),
    P - ((1n << 256n) - P),
  ];
  const values = [...edges, ...Array.from({ length: 40 }, () => big(randomBytes(32)) % P)];
  const mod = (v: bigint): bigint => ((v % P) + P) % P;

  test('a·b, a + b, a − b and 21·a equal BigInt’s for every pair of edge and random values below p', () => {
    let cases = 0;
    for (const a of values) {
      for (const b of values) {
        write(A, a);
        write(B, b);
        field.fmul(OUT, A, B);
        if (read(OUT) !== mod(a * b)) throw new Error(`${a} · ${b}: ${read(OUT)}`);
        field.fadd(OUT, A, B);
        if (read(OUT) !== mod(a + b)) throw new Error(`${a} + ${b}: ${read(OUT)}`);
        field.fsub(OUT, A, B);
        if (read(OUT) !== mod(a - b)) throw new Error(`${a} − ${b}: ${read(OUT)}`);
        cases++;
      }
      write(A, a);
      field.fmul21(OUT, A);
      expect(read(OUT)).toBe(mod(21n * a));
    }
    expect(cases).toBe(values.length ** 2);
  });

  test('the output may be an input (a·a in place, a + a, a − a)', () => {
    for (const a of values) {
      write(A, a);
      field.fmul(A, A, A);
      expect(read(A)).toBe(mod(a * a));
      write(A, a);
      field.fadd(A, A, A);
      expect(read(A)).toBe(mod(2n * a));
      write(A, a);
      field.fsub(A, A, A);
      expect(read(A)).toBe(0n);
    }
  });

  test('the inverse: a · a⁻¹ = 1 for nonzero a, equal to BigInt’s a^(p − 2); 0 for 0', () => {
    const power = (b: bigint, e: bigint): bigint => {
      let r = 1n;
      for (b %= P; e > 0n; e >>= 1n, b = (b * b) % P) if (e & 1n) r = (r * b) % P;
      return r;
    };
    for (const a of values) {
      write(A, a);
      field.finv(OUT, A);
      expect(read(OUT)).toBe(power(a, P - 2n));
      if (a !== 0n) expect(mod(read(OUT) * a)).toBe(1n);
    }
  });
});

test('the module has no branch on a value: no if, select or br_table; the scalar’s nibble only compared, never an address', () => {
  expectNoValueBranches('secp256k1-point.wat');
});

test('the module is what its generator writes (secp256k1-point.wat and the base64 binary, via wabt)', () => {
  expectGenerated('point-wasm.mjs');
});
