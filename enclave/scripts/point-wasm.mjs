#!/usr/bin/env node
// Writes the enclave's secp256k1 base-point multiplication k·G in WebAssembly (enclave/src/signing/): the text
// (secp256k1-point.wat) and its binary as base64 (secp256k1-point-wasm.ts), through wasm-module.mjs.
//
//   node enclave/scripts/point-wasm.mjs           writes both files
//   node enclave/scripts/point-wasm.mjs --check   exits 1 when either differs from what it would write
//
// Why: the EVM signature's self-check (src/signing/secp256k1.ts) recomputes R = k·G from the RFC 6979 nonce with an
// implementation other than the signer's. OpenSSL's was that implementation: its secp256k1 is a generic
// constant-time ladder, 0.7 ms here and the largest single cost of a signature beyond Argon2id
// (docs/performance.md), and it held the nonce in a key object until the garbage collector freed it. This module
// does it with a table of the multiples j·16^i·G (0 ≤ j < 16, 0 ≤ i < 64) that it computes once, 64 complete
// additions (Renes, Costello and Batina 2015, algorithm 7 with a = 0: no exceptional case, so no branch on a
// value), every table row read whole and the entry picked by mask, and field arithmetic modulo p on eight 32-bit
// limbs whose every loop and branch depends on positions only. The inverse of Z is libsecp256k1's addition chain
// for p − 2, whose exponent this script checks before it writes anything.
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { addition, fixedBase, fsqrn, inversion } from './curve-wasm.mjs';
import { field, le } from './field-wasm.mjs';
import { emitModule } from './wasm-module.mjs';

const outDir = join(dirname(fileURLToPath(import.meta.url)), '..', 'src', 'signing');

const P = 0xfffffffffffffffffffffffffffffffffffffffffffffffffffffffefffffc2fn;
const GX = 0x79be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798n;
const GY = 0x483ada7726a3c4655da4fbfc0e1108a8fd17b448a68554199c47d08ffb10d4b8n;
/** 2^256 ≡ C (mod p): C = 2^32 + 977, limbs 977 and 1. */
const C0 = 977;
const B3 = 21; // 3·b, b = 7
if ((1n << 256n) - P !== (1n << 32n) + BigInt(C0)) throw new Error('p is not 2^256 - 2^32 - 977');
if ((GY * GY - GX * GX * GX - 7n) % P !== 0n) throw new Error('G is not on the curve');

// Memory layout (bytes). Field elements are 32 bytes (eight little-endian 32-bit limbs), points three of them
// (X, Y, Z: projective, x = X/Z, y = Y/Z; the point at infinity is (0, 1, 0)).
const K_AT = 0; // the scalar k, 32 bytes little-endian, written by the caller
const OUT_X = 32; // the result's affine x and y, read by the caller
const OUT_Y = 64;
let next = 128;
const fe = () => ((next += 32), next - 32);
const point = () => ((next += 96), next - 96);
const ACC = point(); // the running sum
const PICK = point(); // the table entry picked for this window
const ADD = Object.fromEntries(['t0', 't1', 't2', 't3', 't4', 't5', 'X3', 'Y3', 'Z3'].map((n) => [n, fe()])); // padd's temporaries
const INV = Object.fromEntries(['x2', 'x3', 'x6', 'x9', 'x11', 'x22', 'x44', 'x88', 'x176', 'x220', 'x223', 't'].map((n) => [n, fe()]));
const ZINV = fe();
const WIPE_TO = 2048; // everything above depends on k; the caller zeroes 0 to here after each use
if (next > WIPE_TO) throw new Error('the work area overflows');
const BASE = 2048; // init's running 16^i·G (public)
const G_AT = 2144; // G, affine x and y
const TABLE = 4096; // 64 rows of 16 points: row i, entry j is j·16^i·G (public)
const TABLE_END = TABLE + 64 * 16 * 96;
const PAGES = Math.ceil(TABLE_END / 65536);

const { functions: fieldFunctions, mulSmall } = field(P);

// Complete addition o = p + q (projective, a = 0): algorithm 7 of Renes, Costello, Batina, "Complete addition
// formulas for prime order elliptic curves" (2015), with 3b = 21. Doubling and the point at infinity need no
// special case. The inputs are read before anything is written to o, so o may be p or q.
const padd = addition({
  coordinates: ['X', 'Y', 'Z'],
  temporaries: ADD,
  steps: [
    'mul t0 X1 X2',
    'mul t1 Y1 Y2',
    'mul t2 Z1 Z2',
    'add t3 X1 Y1',
    'add t4 X2 Y2',
    'mul t3 t3 t4',
    'add t4 t0 t1',
    'sub t3 t3 t4',
    'add t4 X1 Z1',
    'add t5 X2 Z2',
    'mul t4 t4 t5',
    'add t5 t0 t2',
    'sub t4 t4 t5',
    'add t5 Y1 Z1',
    'add X3 Y2 Z2',
    'mul t5 t5 X3',
    'add X3 t1 t2',
    'sub t5 t5 X3',
    'b3 Z3 t2',
    'sub X3 t1 Z3',
    'add Z3 t1 Z3',
    'mul Y3 X3 Z3',
    'add t1 t0 t0',
    'add t1 t1 t0',
    'b3 t4 t4',
    'mul t0 t1 t4',
    'add Y3 Y3 t0',
    'mul t0 t5 t4',
    'mul X3 t3 X3',
    'sub X3 X3 t0',
    'mul t0 t3 t1',
    'mul Z3 t5 Z3',
    'add Z3 Z3 t0',
  ],
  functions: { mul: '$fmul', add: '$fadd', sub: '$fsub', b3: '$fmul21' },
  results: ['X3', 'Y3', 'Z3'],
});

// The inverse of a (nonzero) as a^(p − 2): libsecp256k1's addition chain, each step [target, source, squarings,
// multiplier]; checked here by following the exponent.
const chain = [
  ['x2', 'a', 1, 'a'],
  ['x3', 'x2', 1, 'a'],
  ['x6', 'x3', 3, 'x3'],
  ['x9', 'x6', 3, 'x3'],
  ['x11', 'x9', 2, 'x2'],
  ['x22', 'x11', 11, 'x11'],
  ['x44', 'x22', 22, 'x22'],
  ['x88', 'x44', 44, 'x44'],
  ['x176', 'x88', 88, 'x88'],
  ['x220', 'x176', 44, 'x44'],
  ['x223', 'x220', 3, 'x3'],
  ['t', 'x223', 23, 'x22'],
  ['t', 't', 5, 'a'],
  ['t', 't', 3, 'x2'],
  ['t', 't', 2, 'a'],
];
const finv = inversion(chain, P - 2n, INV);

const wat = `;; GENERATED by enclave/scripts/point-wasm.mjs. Do not edit.
;; secp256k1's k·G for the EVM signature's self-check (src/signing/point.ts): field arithmetic modulo
;; p = 2^256 - 2^32 - 977 on eight little-endian 32-bit limbs, complete projective addition, a table of the
;; multiples j·16^i·G that init computes once, and the multiplication, which reads every entry of a row and keeps
;; the one the scalar's nibble names by mask. No loop's count, branch or address depends on the scalar.
;; Memory: the scalar at ${K_AT}, the affine result at ${OUT_X} (x) and ${OUT_Y} (y), the work area up to ${WIPE_TO} (the
;; caller zeroes 0-${WIPE_TO} after each use), G at ${G_AT}, the table at ${TABLE}-${TABLE_END}.
(module
  (memory (export "memory") ${PAGES})
  ;; the field's operations too, on addresses, for the tests (public arithmetic: nothing here is a secret's only path)
  (export "fmul" (func $fmul))
  (export "fadd" (func $fadd))
  (export "fsub" (func $fsub))
  (export "fmul21" (func $fmul21))
  (export "finv" (func $finv))
  (data (i32.const ${G_AT}) "${le(GX, 32)}${le(GY, 32)}")

${fsqrn}

${fieldFunctions}
${mulSmall('$fmul21', B3)}
${padd}
${finv}

${fixedBase({
  pointBytes: 96,
  neutral: [32],
  table: TABLE,
  base: BASE,
  baseInit: `    (memory.copy (i32.const ${BASE}) (i32.const ${G_AT}) (i32.const 64))
    (memory.fill (i32.const ${BASE + 64}) (i32.const 0) (i32.const 32))
    (i32.store8 (i32.const ${BASE + 64}) (i32.const 1))`,
  pick: PICK,
  acc: ACC,
  wipeTo: WIPE_TO,
})}

  ;; (x, y) of k·G at ${OUT_X} and ${OUT_Y}, k at ${K_AT} (any 256-bit number; (0, 0) when k·G is the point at infinity).
  (func (export "mulBase")
    (call $windows (i32.const ${K_AT}))
    (call $finv (i32.const ${ZINV}) (i32.const ${ACC + 64}))
    (call $fmul (i32.const ${OUT_X}) (i32.const ${ACC}) (i32.const ${ZINV}))
    (call $fmul (i32.const ${OUT_Y}) (i32.const ${ACC + 32}) (i32.const ${ZINV})))
)
`;

await emitModule({
  generator: 'enclave/scripts/point-wasm.mjs',
  outDir,
  name: 'secp256k1-point',
  wat,
  exportName: 'POINT_WASM_BASE64',
  moreTs: `/** Its memory: the scalar at \`k\` (32 bytes, little-endian), the result's x and y at \`x\` and \`y\`, zeroed by the caller up to \`wipeTo\`. */
export const POINT_LAYOUT = { k: ${K_AT}, x: ${OUT_X}, y: ${OUT_Y}, wipeTo: ${WIPE_TO} } as const;
`,
});
