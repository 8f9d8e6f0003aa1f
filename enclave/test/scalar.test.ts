/**
 * src/signing/scalar.ts, arithmetic modulo secp256k1's n in WebAssembly (the EVM signature's self-check): against
 * BigInt arithmetic on random values and on the edges (0, 1, n − 1, n, n + 1, 2^256 − 1, 2^256 − n, powers of two),
 * its memory zero after every use, returned or thrown, and the module reproducible from its generator.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { scalarMemoryIsZero, slot, withScalars } from '../src/signing/scalar.js';

const N = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n;
const be = (v: bigint): Uint8Array => new Uint8Array(Buffer.from(v.toString(16).padStart(64, '0'), 'hex'));
const big = (b: Uint8Array): bigint => BigInt(`0x${Buffer.from(b).toString('hex')}`);
const random = (): bigint => big(randomBytes(32));
const EDGES = [0n, 1n, 2n, N - 1n, N, N + 1n, (1n << 256n) - 1n, 1n << 255n, 1n << 128n, (1n << 129n) - 1n, (1n << 256n) - N, N >> 1n];
const [A, B, C, OUT] = [slot(0), slot(1), slot(2), slot(3)];

test('(a·b + c) mod n equals BigInt’s for every pair of edge and random values, with edge and random addends', () => {
  const values = [...EDGES, ...Array.from({ length: 40 }, random)];
  let cases = 0;
  for (const a of values) {
    for (const b of values) {
      for (const c of [0n, 1n, N - 1n, (1n << 256n) - 1n, random()]) {
        const got = withScalars((m) => {
          m.set(A, be(a));
          m.set(B, be(b));
          m.set(C, be(c));
          m.mulAdd(OUT, A, B, C);
          return big(m.read(OUT));
        });
        if (got !== (a * b + c) % N) throw new Error(`(${a} · ${b} + ${c}) mod n: ${got}`);
        cases++;
      }
    }
  }
  expect(cases).toBe(52 * 52 * 5);
  expect(scalarMemoryIsZero()).toBe(true);
});

test('the output may be an input; negate, isZero, equal and lessThanN against BigInt', () => {
  for (const a of [...EDGES, ...Array.from({ length: 200 }, random)]) {
    withScalars((m) => {
      m.set(A, be(a));
      m.set(B, be(a));
      expect(m.isZero(A)).toBe(a === 0n);
      expect(m.lessThanN(A)).toBe(a < N);
      expect(m.equal(A, B)).toBe(true);
      m.mulAdd(A, A, A, A); // a² + a, in place
      expect(big(m.read(A))).toBe((a * a + a) % N);
      expect(m.equal(A, B)).toBe((a * a + a) % N === a);
      if (a < N) {
        m.negate(OUT, B);
        expect(big(m.read(OUT))).toBe((N - a) % N);
      }
    });
  }
  expect(scalarMemoryIsZero()).toBe(true);
});

test('the memory is zeroed when the computation throws; a slot outside the scalars’ area is refused', () => {
  expect(() =>
    withScalars((m) => {
      m.set(A, be(N - 1n));
      throw new Error('stop');
    }),
  ).toThrow('stop');
  expect(scalarMemoryIsZero()).toBe(true);
  expect(() => slot(16)).toThrow(RangeError);
  expect(() => withScalars((m) => m.set(A, new Uint8Array(31)))).toThrow(RangeError);
});

test('the module is what its generator writes (secp256k1-scalar.wat and the base64 binary, via wabt)', () => {
  const script = fileURLToPath(new URL('../scripts/scalar-wasm.mjs', import.meta.url));
  expect(() => execFileSync(process.execPath, [script, '--check'], { stdio: 'pipe' })).not.toThrow();
});
