#!/usr/bin/env node
// Writes the enclave's ed25519 (RFC 8032) in WebAssembly (enclave/src/signing/): the text (ed25519.wat) and its
// binary as base64 (ed25519-wasm.ts), through wasm-module.mjs.
//
//   node enclave/scripts/ed25519-wasm.mjs           writes both files
//   node enclave/scripts/ed25519-wasm.mjs --check   exits 1 when either differs from what it would write
//
// Why: Solana signatures were noble's ed25519, which turns the key's signing scalar into a JavaScript BigInt through
// a hex string; the scalar (enough to sign) was found in the enclave's freed memory after every Solana signature
// (test/integration/enclave-memory.test.ts). Here everything secret — the seed, SHA-512 of it (the scalar and the
// nonce prefix), the nonce r, r·B and S = r + k·a — stays in the module's memory, which the caller zeroes after each
// use. The module has SHA-512 (the caller pads: lengths are public), field arithmetic modulo 2p = 2^256 − 38
// (field-wasm.mjs; reduced below p only to encode), complete twisted Edwards additions in extended coordinates
// (Hisil, Wong, Carter, Dawson 2008, "add-2008-hwcd-3": complete on edwards25519, d not a square), a table of
// j·16^i·B computed once and read whole per window with one entry kept by mask, and arithmetic modulo the group
// order L by shift and conditional subtraction: no branch, loop count or address depends on a secret.
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { addition, fixedBase, fsqrn, inversion } from './curve-wasm.mjs';
import { field, le, limb, M32, range, store } from './field-wasm.mjs';
import { emitModule } from './wasm-module.mjs';

const outDir = join(dirname(fileURLToPath(import.meta.url)), '..', 'src', 'signing');

const P = (1n << 255n) - 19n;
const L = (1n << 252n) + 27742317777372353535851937790883648493n;
const mod = (a, m = P) => ((a % m) + m) % m;
const power = (b, e, m = P) => {
  let r = 1n;
  for (b = mod(b, m); e > 0n; e >>= 1n, b = (b * b) % m) if (e & 1n) r = (r * b) % m;
  return r;
};
const inv = (a) => power(a, P - 2n);
const D = mod(-121665n * inv(121666n));
const BY = mod(4n * inv(5n));
const BX = (() => {
  // x² = (y² − 1) / (d·y² + 1); p ≡ 5 (mod 8): x = u^((p+3)/8), times √−1 when that squares to −u; B's x is even.
  const u = mod((BY * BY - 1n) * inv(D * BY * BY + 1n));
  let x = power(u, (P + 3n) / 8n);
  if (mod(x * x - u) !== 0n) x = mod(x * power(2n, (P - 1n) / 4n));
  if (mod(x * x - u) !== 0n) throw new Error('no square root');
  return x & 1n ? P - x : x;
})();
if (mod(-BX * BX + BY * BY - 1n - D * BX * BX * BY * BY) !== 0n) throw new Error('B is not on the curve');

// SHA-512's constants (FIPS 180-4 §4.2.3, §5.3.5): the fractional parts of cube and square roots of primes.
const primes = [];
for (let n = 2; primes.length < 80; n++) if (primes.every((q) => n % q !== 0)) primes.push(n);
/** The first 64 bits of the fractional part of the k-th root of n (k = 2 or 3), by integer roots. */
const rootFraction = (n, k) => {
  const scaled = BigInt(n) << BigInt(64 * k); // root(n · 2^(64k)) = root(n) · 2^64
  let lo = 0n;
  let hi = 1n << 80n;
  while (lo < hi) {
    const mid = (lo + hi + 1n) >> 1n;
    if (mid ** BigInt(k) <= scaled) lo = mid;
    else hi = mid - 1n;
  }
  return lo & ((1n << 64n) - 1n);
};
const SHA_K = primes.map((q) => rootFraction(q, 3));
const SHA_IV = primes.slice(0, 8).map((q) => rootFraction(q, 2));
if (SHA_K[0] !== 0x428a2f98d728ae22n || SHA_K[79] !== 0x6c44198c4a475817n || SHA_IV[0] !== 0x6a09e667f3bcc908n) throw new Error('SHA-512 constants');

// Memory layout (bytes). Field elements and scalars are 32 bytes, little-endian; points four field elements
// (X, Y, Z, T: extended coordinates, x = X/Z, y = Y/Z, x·y = T/Z; the neutral point is (0, 1, 1, 0)).
const A_AT = 0; // the clamped secret scalar a
const R_AT = 32; // the nonce r mod L
const K_AT = 64; // k = SHA-512(R ‖ A ‖ M) mod L
const S_AT = 96; // S = r + k·a mod L
const H_AT = 128; // SHA-512(seed): a (before clamping) ‖ prefix
const WIDE = 192; // a 64-byte digest to reduce mod L
const OUT = 256; // an encoded point
const PRODUCT = 320; // mulAdd's 512-bit product
const SHA_H = 384; // SHA-512's state, eight i64
const SHA_W = 448; // its message schedule, eighty i64
let next = 1152;
const fe = () => ((next += 32), next - 32);
const point = () => ((next += 128), next - 128);
const ACC = point();
const PICK = point();
const ADD = Object.fromEntries(['u', 'v', 'A', 'B', 'C', 'D', 'E', 'F', 'G', 'H', 'X3', 'Y3', 'Z3', 'T3'].map((n) => [n, fe()]));
const INV = Object.fromEntries(['z2', 'z9', 'z11', 'z5', 'z10', 'z20', 'z40', 'z50', 'z100', 'z200', 'z250', 't'].map((n) => [n, fe()]));
const ZINV = fe();
const AFFINE_X = fe();
const AFFINE_Y = fe();
const INPUT = 4096; // SHA-512's input blocks, written by the caller
const INPUT_BYTES = 8192;
const WIPE_TO = INPUT + INPUT_BYTES; // everything below depends on secrets; the caller zeroes it after each use
if (next > INPUT) throw new Error('the work area overflows');
const D2_AT = WIPE_TO; // 2d
const B_AT = D2_AT + 32; // B, affine x and y
const L_AT = B_AT + 64;
const SHA_K_AT = L_AT + 32;
const SHA_IV_AT = SHA_K_AT + 640;
const BASE = 13312; // init's running 16^i·B (public)
if (SHA_IV_AT + 64 > BASE) throw new Error('the constants overflow');
const TABLE = 16384; // 64 rows of 16 points: row i, entry j is j·16^i·B (public)
const TABLE_END = TABLE + 64 * 16 * 128;
const PAGES = Math.ceil(TABLE_END / 65536);

const { functions: fieldFunctions } = field(2n * P);
const leWords = (words) => words.map((w) => le(w, 8)).join('');

// Complete addition o = p + q on edwards25519 (a = −1), extended coordinates: "add-2008-hwcd-3", 9 multiplications.
// The inputs are read before anything is written to o, so o may be p or q.
const padd = addition({
  coordinates: ['X', 'Y', 'Z', 'T'],
  temporaries: ADD,
  constants: { D2: D2_AT },
  steps: [
    'sub u Y1 X1',
    'sub v Y2 X2',
    'mul A u v',
    'add u Y1 X1',
    'add v Y2 X2',
    'mul B u v',
    'mul C T1 T2',
    'mul C C D2',
    'mul D Z1 Z2',
    'add D D D',
    'sub E B A',
    'sub F D C',
    'add G D C',
    'add H B A',
    'mul X3 E F',
    'mul Y3 G H',
    'mul T3 E H',
    'mul Z3 F G',
  ],
  functions: { mul: '$fmul', add: '$fadd', sub: '$fsub' },
  results: ['X3', 'Y3', 'Z3', 'T3'],
});

// The inverse as a^(p − 2) (ref10's chain): [target, source, squarings, multiplier or null]; checked here by
// following the exponent.
const chain = [
  ['z2', 'a', 1, null],
  ['z9', 'z2', 2, 'a'],
  ['z11', 'z9', 0, 'z2'],
  ['z5', 'z11', 1, 'z9'],
  ['z10', 'z5', 5, 'z5'],
  ['z20', 'z10', 10, 'z10'],
  ['z40', 'z20', 20, 'z20'],
  ['z50', 'z40', 10, 'z10'],
  ['z100', 'z50', 50, 'z50'],
  ['z200', 'z100', 100, 'z100'],
  ['z250', 'z200', 50, 'z50'],
  ['t', 'z250', 5, 'z11'],
];
const finv = inversion(chain, P - 2n, INV);

// o = a mod p for a below 2p: a + 19 reaches 2^255 exactly when a ≥ p, and is then a − p + 2^255.
const freeze = [
  '(func $freeze (param $o i32) (param $a i32) (local $t i64) (local $mask i64)',
  ...range(8).map((i) => `(local $s${i} i64)`),
  `(local.set $t (i64.add ${limb('(local.get $a)', 0)} (i64.const 19)))`,
  `(local.set $s0 (i64.and (local.get $t) ${M32}))`,
  ...range(7).flatMap((k) => [
    `(local.set $t (i64.add ${limb('(local.get $a)', k + 1)} (i64.shr_u (local.get $t) (i64.const 32))))`,
    `(local.set $s${k + 1} (i64.and (local.get $t) ${M32}))`,
  ]),
  '(local.set $mask (i64.sub (i64.const 0) (i64.shr_u (local.get $s7) (i64.const 31))))',
  '(local.set $s7 (i64.and (local.get $s7) (i64.const 0x7fffffff)))',
  ...range(8).map((i) =>
    store(
      '(local.get $o)',
      i,
      `(i64.or (i64.and (local.get $s${i}) (local.get $mask)) (i64.and ${limb('(local.get $a)', i)} (i64.xor (local.get $mask) (i64.const -1))))`,
    ),
  ),
  ')',
].join('\n');

// o = the 512-bit number at in, mod L: bit by bit from the top, r = 2r + bit, less L when that does not borrow
// (r < L < 2^253 throughout, so 2r + 1 fits eight limbs). 512 rounds whatever the value.
const reduceL = [
  '(func $reduceL (param $o i32) (param $in i32) (local $i i32) (local $t i64) (local $c i64) (local $mask i64)',
  ...range(8).map((k) => `(local $r${k} i64) (local $u${k} i64)`),
  '(local.set $i (i32.const 512))',
  '(loop $bits',
  '(local.set $i (i32.sub (local.get $i) (i32.const 1)))',
  ...range(7).map(
    (k) => `(local.set $r${7 - k} (i64.and (i64.or (i64.shl (local.get $r${7 - k}) (i64.const 1)) (i64.shr_u (local.get $r${6 - k}) (i64.const 31))) ${M32}))`,
  ),
  `(local.set $r0 (i64.and (i64.or (i64.shl (local.get $r0) (i64.const 1))
    (i64.extend_i32_u (i32.and (i32.shr_u (i32.load8_u (i32.add (local.get $in) (i32.shr_u (local.get $i) (i32.const 3))))
      (i32.and (local.get $i) (i32.const 7))) (i32.const 1)))) ${M32}))`,
  '(local.set $c (i64.const 0))',
  ...range(8).flatMap((k) => [
    `(local.set $t (i64.sub (i64.sub (local.get $r${k}) ${limb(`(i32.const ${L_AT})`, k)}) (local.get $c)))`,
    `(local.set $u${k} (i64.and (local.get $t) ${M32}))`,
    '(local.set $c (i64.shr_u (local.get $t) (i64.const 63)))',
  ]),
  // all ones when r − L borrowed (keep r), else zero (keep r − L)
  '(local.set $mask (i64.sub (i64.const 0) (local.get $c)))',
  ...range(8).map(
    (k) => `(local.set $r${k} (i64.or (i64.and (local.get $r${k}) (local.get $mask)) (i64.and (local.get $u${k}) (i64.xor (local.get $mask) (i64.const -1)))))`,
  ),
  '(br_if $bits (local.get $i)))',
  ...range(8).map((k) => store('(local.get $o)', k, `(local.get $r${k})`)),
  ')',
].join('\n');

// o = (a·b + c) mod L for any 256-bit a, b, c: the product row by row into PRODUCT, c added, then reduceL.
const mulAdd = [
  `(func (export "mulAdd") (param $o i32) (param $a i32) (param $b i32) (param $c i32) (local $t i64) (local $carry i64)`,
  ...range(8).map((i) => `(local $a${i} i64) (local $b${i} i64)`),
  ...range(16).map((i) => `(local $w${i} i64)`),
  ...range(8).flatMap((i) => [`(local.set $a${i} ${limb('(local.get $a)', i)})`, `(local.set $b${i} ${limb('(local.get $b)', i)})`]),
  ...range(8).flatMap((i) => [
    '(local.set $carry (i64.const 0))',
    ...range(8).flatMap((j) => [
      `(local.set $t (i64.add (i64.add (i64.mul (local.get $a${i}) (local.get $b${j})) (local.get $w${i + j})) (local.get $carry)))`,
      `(local.set $w${i + j} (i64.and (local.get $t) ${M32}))`,
      '(local.set $carry (i64.shr_u (local.get $t) (i64.const 32)))',
    ]),
    `(local.set $w${i + 8} (local.get $carry))`,
  ]),
  '(local.set $carry (i64.const 0))',
  ...range(16).flatMap((i) => [
    `(local.set $t (i64.add ${i < 8 ? `(i64.add (local.get $w${i}) ${limb('(local.get $c)', i)})` : `(local.get $w${i})`} (local.get $carry)))`,
    store(`(i32.const ${PRODUCT})`, i, '(local.get $t)'),
    '(local.set $carry (i64.shr_u (local.get $t) (i64.const 32)))',
  ]),
  `(call $reduceL (local.get $o) (i32.const ${PRODUCT}))`,
  ')',
].join('\n');

// SHA-512's compression of `blocks` 128-byte blocks at `in` into the state at SHA_H (FIPS 180-4 §6.4.2).
const rotr = (x, n) => `(i64.rotr ${x} (i64.const ${n}))`;
const get = (n) => `(local.get $${n})`;
const bigEndian64 = (addr) =>
  range(8)
    .map((b) => `(i64.shl (i64.load8_u offset=${b} ${addr}) (i64.const ${56 - 8 * b}))`)
    .reduce((acc, x) => `(i64.or ${acc} ${x})`);
const sha512Blocks = [
  '(func $sha512Blocks (param $in i32) (param $blocks i32) (local $i i32) (local $t1 i64) (local $t2 i64) (local $x i64)',
  ...['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h'].map((n) => `(local $${n} i64)`),
  '(block $done (loop $block',
  '(br_if $done (i32.eqz (local.get $blocks)))',
  ...range(16).map((t) => `(i64.store offset=${SHA_W + 8 * t} (i32.const 0) ${bigEndian64(`(i32.add (local.get $in) (i32.const ${8 * t}))`)})`),
  '(local.set $i (i32.const 16))',
  '(loop $schedule',
  // W[i] = σ1(W[i−2]) + W[i−7] + σ0(W[i−15]) + W[i−16]
  `(local.set $x (i64.load offset=${SHA_W - 16} (i32.shl (local.get $i) (i32.const 3))))`,
  `(local.set $t1 (i64.xor (i64.xor ${rotr(get('x'), 19)} ${rotr(get('x'), 61)}) (i64.shr_u ${get('x')} (i64.const 6))))`,
  `(local.set $x (i64.load offset=${SHA_W - 120} (i32.shl (local.get $i) (i32.const 3))))`,
  `(local.set $t2 (i64.xor (i64.xor ${rotr(get('x'), 1)} ${rotr(get('x'), 8)}) (i64.shr_u ${get('x')} (i64.const 7))))`,
  `(i64.store offset=${SHA_W} (i32.shl (local.get $i) (i32.const 3)) (i64.add (i64.add (local.get $t1) (local.get $t2))
    (i64.add (i64.load offset=${SHA_W - 56} (i32.shl (local.get $i) (i32.const 3))) (i64.load offset=${SHA_W - 128} (i32.shl (local.get $i) (i32.const 3))))))`,
  '(br_if $schedule (i32.lt_u (local.tee $i (i32.add (local.get $i) (i32.const 1))) (i32.const 80))))',
  ...['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h'].map((n, k) => `(local.set $${n} (i64.load offset=${SHA_H + 8 * k} (i32.const 0)))`),
  '(local.set $i (i32.const 0))',
  '(loop $rounds',
  // T1 = h + Σ1(e) + Ch(e, f, g) + K[i] + W[i]; T2 = Σ0(a) + Maj(a, b, c)
  `(local.set $t1 (i64.add (i64.add (i64.add (local.get $h) (i64.xor (i64.xor ${rotr(get('e'), 14)} ${rotr(get('e'), 18)}) ${rotr(get('e'), 41)}))
    (i64.xor (i64.and (local.get $e) (local.get $f)) (i64.and (i64.xor (local.get $e) (i64.const -1)) (local.get $g))))
    (i64.add (i64.load offset=${SHA_K_AT} (i32.shl (local.get $i) (i32.const 3))) (i64.load offset=${SHA_W} (i32.shl (local.get $i) (i32.const 3))))))`,
  `(local.set $t2 (i64.add (i64.xor (i64.xor ${rotr(get('a'), 28)} ${rotr(get('a'), 34)}) ${rotr(get('a'), 39)})
    (i64.xor (i64.xor (i64.and (local.get $a) (local.get $b)) (i64.and (local.get $a) (local.get $c))) (i64.and (local.get $b) (local.get $c)))))`,
  '(local.set $h (local.get $g)) (local.set $g (local.get $f)) (local.set $f (local.get $e))',
  '(local.set $e (i64.add (local.get $d) (local.get $t1)))',
  '(local.set $d (local.get $c)) (local.set $c (local.get $b)) (local.set $b (local.get $a))',
  '(local.set $a (i64.add (local.get $t1) (local.get $t2)))',
  '(br_if $rounds (i32.lt_u (local.tee $i (i32.add (local.get $i) (i32.const 1))) (i32.const 80))))',
  ...['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h'].map(
    (n, k) => `(i64.store offset=${SHA_H + 8 * k} (i32.const 0) (i64.add (i64.load offset=${SHA_H + 8 * k} (i32.const 0)) (local.get $${n})))`,
  ),
  '(local.set $in (i32.add (local.get $in) (i32.const 128)))',
  '(local.set $blocks (i32.sub (local.get $blocks) (i32.const 1)))',
  '(br $block)))',
  ')',
].join('\n');

const wat = `;; GENERATED by enclave/scripts/ed25519-wasm.mjs. Do not edit.
;; ed25519 (RFC 8032) for Solana signatures (src/signing/ed25519.ts): SHA-512, field arithmetic modulo 2p (reduced
;; below p = 2^255 - 19 only to encode), complete twisted Edwards additions, a table of j·16^i·B that init computes
;; once, base-point multiplication reading every entry of a row and keeping one by mask, arithmetic modulo L. No
;; loop's count, branch or address depends on a secret.
;; Memory: the scalars a at ${A_AT}, r at ${R_AT}, k at ${K_AT}, S at ${S_AT}; SHA-512(seed) at ${H_AT}, another digest at ${WIDE}, an
;; encoded point at ${OUT}; SHA-512's state at ${SHA_H} and input at ${INPUT}-${WIPE_TO}; the work area up to ${WIPE_TO} (the caller
;; zeroes 0-${WIPE_TO} after each use); constants at ${WIPE_TO}, the table at ${TABLE}-${TABLE_END}.
(module
  (memory (export "memory") ${PAGES})
  ;; the field's operations too, on addresses, for the tests (public arithmetic: nothing here is a secret's only path)
  (export "fmul" (func $fmul))
  (export "fadd" (func $fadd))
  (export "fsub" (func $fsub))
  (export "finv" (func $finv))
  (export "freeze" (func $freeze))
  (data (i32.const ${D2_AT}) "${le(mod(2n * D), 32)}")
  (data (i32.const ${B_AT}) "${le(BX, 32)}${le(BY, 32)}")
  (data (i32.const ${L_AT}) "${le(L, 32)}")
  (data (i32.const ${SHA_K_AT}) "${leWords(SHA_K)}")
  (data (i32.const ${SHA_IV_AT}) "${leWords(SHA_IV)}")

${fieldFunctions}

${fsqrn}

${padd}
${finv}
${freeze}
${reduceL}
${mulAdd}
${sha512Blocks}

${fixedBase({
  pointBytes: 128,
  neutral: [32, 64],
  table: TABLE,
  base: BASE,
  baseInit: `    (memory.copy (i32.const ${BASE}) (i32.const ${B_AT}) (i32.const 64))
    (memory.fill (i32.const ${BASE + 64}) (i32.const 0) (i32.const 32))
    (i32.store8 (i32.const ${BASE + 64}) (i32.const 1))
    (call $fmul (i32.const ${BASE + 96}) (i32.const ${B_AT}) (i32.const ${B_AT + 32}))`,
  pick: PICK,
  acc: ACC,
  wipeTo: WIPE_TO,
})}

  ;; The encoding of k·B at out (RFC 8032 §5.1.2: y, and x's low bit as bit 255), k the 32 bytes at k (any 256-bit number).
  (func (export "mulBase") (param $k i32) (param $out i32)
    (call $windows (local.get $k))
    (call $finv (i32.const ${ZINV}) (i32.const ${ACC + 64}))
    (call $fmul (i32.const ${AFFINE_X}) (i32.const ${ACC}) (i32.const ${ZINV}))
    (call $freeze (i32.const ${AFFINE_X}) (i32.const ${AFFINE_X}))
    (call $fmul (i32.const ${AFFINE_Y}) (i32.const ${ACC + 32}) (i32.const ${ZINV}))
    (call $freeze (local.get $out) (i32.const ${AFFINE_Y}))
    (i32.store8 offset=31 (local.get $out) (i32.or (i32.load8_u offset=31 (local.get $out))
      (i32.shl (i32.and (i32.load8_u (i32.const ${AFFINE_X})) (i32.const 1)) (i32.const 7)))))

  ;; o = the 64-byte little-endian number at in, mod L.
  (func (export "reduce") (param $o i32) (param $in i32)
    (call $reduceL (local.get $o) (local.get $in)))

  ;; SHA-512: start, compress whole blocks of the input area, and write the digest (big-endian words) at o.
  (func (export "shaInit")
    (memory.copy (i32.const ${SHA_H}) (i32.const ${SHA_IV_AT}) (i32.const 64)))
  (func (export "shaBlocks") (param $blocks i32)
    (call $sha512Blocks (i32.const ${INPUT}) (local.get $blocks)))
  (func (export "shaDigest") (param $o i32) (local $k i32) (local $x i64)
    (local.set $k (i32.const 0))
    (loop $words
      (local.set $x (i64.load offset=${SHA_H} (i32.shl (local.get $k) (i32.const 3))))
      (local.set $x (i64.or (i64.or (i64.or (i64.shl (i64.and (local.get $x) (i64.const 0xff)) (i64.const 56))
        (i64.shl (i64.and (local.get $x) (i64.const 0xff00)) (i64.const 40)))
        (i64.or (i64.shl (i64.and (local.get $x) (i64.const 0xff0000)) (i64.const 24)) (i64.shl (i64.and (local.get $x) (i64.const 0xff000000)) (i64.const 8))))
        (i64.or (i64.or (i64.and (i64.shr_u (local.get $x) (i64.const 8)) (i64.const 0xff000000)) (i64.and (i64.shr_u (local.get $x) (i64.const 24)) (i64.const 0xff0000)))
          (i64.or (i64.and (i64.shr_u (local.get $x) (i64.const 40)) (i64.const 0xff00)) (i64.shr_u (local.get $x) (i64.const 56))))))
      (i64.store (i32.add (local.get $o) (i32.shl (local.get $k) (i32.const 3))) (local.get $x))
      (br_if $words (i32.lt_u (local.tee $k (i32.add (local.get $k) (i32.const 1))) (i32.const 8)))))
)
`;

await emitModule({
  generator: 'enclave/scripts/ed25519-wasm.mjs',
  outDir,
  name: 'ed25519',
  wat,
  exportName: 'ED25519_WASM_BASE64',
  moreTs: `/** Its memory: where the caller writes and reads (byte offsets), and what it zeroes after each use (below \`wipeTo\`). */
export const ED25519_LAYOUT = {
  a: ${A_AT},
  r: ${R_AT},
  k: ${K_AT},
  s: ${S_AT},
  hashOfSeed: ${H_AT},
  digest: ${WIDE},
  point: ${OUT},
  input: ${INPUT},
  inputBytes: ${INPUT_BYTES},
  wipeTo: ${WIPE_TO},
} as const;
`,
});
