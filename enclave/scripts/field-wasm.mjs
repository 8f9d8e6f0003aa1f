// Field arithmetic for the enclave's WebAssembly generators (point-wasm.mjs for secp256k1, ed25519-wasm.mjs for
// ed25519): numbers below 2^256 as eight little-endian 32-bit limbs in memory, modulo m = 2^256 − C for a C below
// 2^33 (C = c0 + c1·2^32, c1 0 or 1, c0 below 2^20): secp256k1's p (C = 2^32 + 977), or 2·(2^255 − 19) (C = 38), in which
// ed25519's field computes and reduces below p only at the end. Every function runs the same instructions whatever
// the values: no branch, loop count or address depends on them, only on positions; results are chosen by mask.

export const M32 = '(i64.const 0xffffffff)';
export const limb = (addr, i) => `(i64.load32_u offset=${4 * i} ${addr})`;
export const store = (addr, i, v) => `(i64.store32 offset=${4 * i} ${addr} ${v})`;
export const range = (n) => Array.from({ length: n }, (_, i) => i);
const decl = (prefix, n) =>
  range(n)
    .map((i) => `(local $${prefix}${i} i64)`)
    .join(' ');
const FIELD_LOCALS = `${decl('w', 16)} ${decl('u', 8)} (local $t i64) (local $c i64) (local $top i64) (local $mask i64)`;

/** Little-endian bytes of `v`, as a data segment's string. */
export const le = (v, bytes) => Array.from({ length: bytes }, (_, i) => `\\${((v >> BigInt(8 * i)) & 0xffn).toString(16).padStart(2, '0')}`).join('');

/**
 * The functions $fcopy, $fmul, $fadd and $fsub (each (o, a[, b]) on addresses; o may be an input) modulo
 * `modulus`, and `mulSmall(name, k)` for a function (o, a) computing k·a for a small constant k.
 */
export function field(modulus) {
  const C = (1n << 256n) - modulus;
  const c0 = Number(C & 0xffffffffn);
  const c1 = Number(C >> 32n);
  // The bounds below (each step below 2^64, a fold's top below 2^35) hold for c1 of 0 or 1 and a small c0.
  if (C <= 0n || c1 > 1 || c0 >= 1 << 20) throw new Error('the modulus is not 2^256 - C for C = c1·2^32 + c0, c1 ≤ 1, c0 < 2^20');
  /** t = expression + c1·x (nothing when c1 is 0). */
  const plusC1 = (expression, x) => (c1 ? `(i64.add ${expression} ${x})` : expression);

  /**
   * $w0..$w7 + carry·2^256 is below 2m: stores it minus m when it is at least m, else itself, at $o, chosen by
   * mask. It is at least m exactly when carry is 1 or w + C carries out of 2^256 (then w + C mod 2^256 is w − m).
   */
  const finalSubtract = (carry) => [
    `(local.set $c ${carry})`,
    `(local.set $t (i64.add (local.get $w0) (i64.const ${c0})))`,
    `(local.set $u0 (i64.and (local.get $t) ${M32}))`,
    `(local.set $t (i64.add ${plusC1('(local.get $w1)', '(i64.const 1)')} (i64.shr_u (local.get $t) (i64.const 32))))`,
    `(local.set $u1 (i64.and (local.get $t) ${M32}))`,
    ...range(6).flatMap((k) => [
      `(local.set $t (i64.add (local.get $w${k + 2}) (i64.shr_u (local.get $t) (i64.const 32))))`,
      `(local.set $u${k + 2} (i64.and (local.get $t) ${M32}))`,
    ]),
    `(local.set $mask (i64.sub (i64.const 0) (i64.or (local.get $c) (i64.shr_u (local.get $t) (i64.const 32)))))`,
    ...range(8).map((i) =>
      store(
        '(local.get $o)',
        i,
        `(i64.or (i64.and (local.get $u${i}) (local.get $mask)) (i64.and (local.get $w${i}) (i64.xor (local.get $mask) (i64.const -1))))`,
      ),
    ),
  ];

  /** Adds top·C to $w0..$w7 (top below 2^35), carries run to the end; leaves the carry out of 2^256 in $t >> 32. */
  const foldTop = () => [
    `(local.set $t (i64.add (local.get $w0) (i64.mul (local.get $top) (i64.const ${c0}))))`,
    `(local.set $w0 (i64.and (local.get $t) ${M32}))`,
    `(local.set $t (i64.add ${plusC1('(local.get $w1)', '(local.get $top)')} (i64.shr_u (local.get $t) (i64.const 32))))`,
    `(local.set $w1 (i64.and (local.get $t) ${M32}))`,
    ...range(6).flatMap((k) => [
      `(local.set $t (i64.add (local.get $w${k + 2}) (i64.shr_u (local.get $t) (i64.const 32))))`,
      `(local.set $w${k + 2} (i64.and (local.get $t) ${M32}))`,
    ]),
  ];

  /**
   * The reduction shared by $fmul and mulSmall: the locals $w0..$w7 hold a number below 2^256 and $top the
   * multiple of 2^256 above them (below 2^35); stores the result, fully reduced below m, at $o. top·2^256 ≡ top·C;
   * what then carries out (0 or 1) folds once more, and what is left below 2^256 is then so small that this
   * carries out nothing.
   */
  const reduceTop = () => [...foldTop(), `(local.set $top (i64.shr_u (local.get $t) (i64.const 32)))`, ...foldTop(), ...finalSubtract('(i64.const 0)')];

  // o = a·b mod m: the 512-bit product row by row (each step a_i·b_j + w + carry fits 64 bits), then 2^256 ≡ C.
  const fmul = [
    `(func $fmul (param $o i32) (param $a i32) (param $b i32) ${decl('a', 8)} ${decl('b', 8)} ${FIELD_LOCALS}`,
    ...range(8).flatMap((i) => [`(local.set $a${i} ${limb('(local.get $a)', i)})`, `(local.set $b${i} ${limb('(local.get $b)', i)})`]),
    ...range(8).flatMap((i) => [
      '(local.set $c (i64.const 0))',
      ...range(8).flatMap((j) => [
        `(local.set $t (i64.add (i64.add (i64.mul (local.get $a${i}) (local.get $b${j})) (local.get $w${i + j})) (local.get $c)))`,
        `(local.set $w${i + j} (i64.and (local.get $t) ${M32}))`,
        '(local.set $c (i64.shr_u (local.get $t) (i64.const 32)))',
      ]),
      `(local.set $w${i + 8} (local.get $c))`,
    ]),
    // w_lo + w_hi·2^256 ≡ w_lo + w_hi·c0 + c1·w_hi·2^32: limb i gains w_(8+i)·c0 and c1·w_(7+i) (below 2^43)
    '(local.set $c (i64.const 0))',
    ...range(8).flatMap((i) => [
      `(local.set $t (i64.add ${plusC1(`(i64.add (local.get $w${i}) (i64.mul (local.get $w${8 + i}) (i64.const ${c0})))`, i > 0 ? `(local.get $w${7 + i})` : '(i64.const 0)')} (local.get $c)))`,
      `(local.set $w${i} (i64.and (local.get $t) ${M32}))`,
      '(local.set $c (i64.shr_u (local.get $t) (i64.const 32)))',
    ]),
    `(local.set $top ${plusC1('(local.get $c)', '(local.get $w15)')})`,
    ...reduceTop(),
    ')',
  ];

  // o = a + b mod m, for a, b < m.
  const fadd = [
    `(func $fadd (param $o i32) (param $a i32) (param $b i32) ${FIELD_LOCALS}`,
    '(local.set $c (i64.const 0))',
    ...range(8).flatMap((i) => [
      `(local.set $t (i64.add (i64.add ${limb('(local.get $a)', i)} ${limb('(local.get $b)', i)}) (local.get $c)))`,
      `(local.set $w${i} (i64.and (local.get $t) ${M32}))`,
      '(local.set $c (i64.shr_u (local.get $t) (i64.const 32)))',
    ]),
    ...finalSubtract('(local.get $c)'),
    ')',
  ];

  // o = a − b mod m, for a, b < m: when a − b borrows, the limbs hold a − b + 2^256, and a − b + m is that − C.
  const fsub = [
    `(func $fsub (param $o i32) (param $a i32) (param $b i32) ${FIELD_LOCALS}`,
    '(local.set $c (i64.const 0))',
    ...range(8).flatMap((i) => [
      `(local.set $t (i64.sub (i64.sub ${limb('(local.get $a)', i)} ${limb('(local.get $b)', i)}) (local.get $c)))`,
      `(local.set $w${i} (i64.and (local.get $t) ${M32}))`,
      '(local.set $c (i64.shr_u (local.get $t) (i64.const 63)))',
    ]),
    '(local.set $mask (i64.sub (i64.const 0) (local.get $c)))',
    '(local.set $c (i64.const 0))',
    ...range(8).flatMap((i) => [
      `(local.set $t (i64.sub (i64.sub (local.get $w${i}) (i64.const ${i === 0 ? c0 : i === 1 ? c1 : 0})) (local.get $c)))`,
      `(local.set $u${i} (i64.and (local.get $t) ${M32}))`,
      '(local.set $c (i64.shr_u (local.get $t) (i64.const 63)))',
    ]),
    ...range(8).map((i) =>
      store(
        '(local.get $o)',
        i,
        `(i64.or (i64.and (local.get $u${i}) (local.get $mask)) (i64.and (local.get $w${i}) (i64.xor (local.get $mask) (i64.const -1))))`,
      ),
    ),
    ')',
  ];

  const fcopy = `(func $fcopy (param $o i32) (param $a i32)
    (i64.store offset=0 (local.get $o) (i64.load offset=0 (local.get $a)))
    (i64.store offset=8 (local.get $o) (i64.load offset=8 (local.get $a)))
    (i64.store offset=16 (local.get $o) (i64.load offset=16 (local.get $a)))
    (i64.store offset=24 (local.get $o) (i64.load offset=24 (local.get $a))))`;

  return {
    functions: [fcopy, ...fmul, ...fadd, ...fsub].join('\n'),
    /** A function `name` (o, a): o = k·a mod m, for a constant k below 2^32. */
    mulSmall(name, k) {
      return [
        `(func ${name} (param $o i32) (param $a i32) ${FIELD_LOCALS}`,
        '(local.set $c (i64.const 0))',
        ...range(8).flatMap((i) => [
          `(local.set $t (i64.add (i64.mul ${limb('(local.get $a)', i)} (i64.const ${k})) (local.get $c)))`,
          `(local.set $w${i} (i64.and (local.get $t) ${M32}))`,
          '(local.set $c (i64.shr_u (local.get $t) (i64.const 32)))',
        ]),
        '(local.set $top (local.get $c))',
        ...reduceTop(),
        ')',
      ].join('\n');
    },
  };
}
