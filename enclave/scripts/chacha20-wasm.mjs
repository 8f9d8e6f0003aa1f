#!/usr/bin/env node
// Writes the enclave's ChaCha20, HChaCha20 and Poly1305 in WebAssembly (enclave/src/chacha/): the module's text
// (chacha20.wat, to read and review) and its binary as base64 (chacha20-wasm.ts, what the enclave loads; no tool is
// needed at run time or in the image). The text is generated here because ChaCha20's twenty rounds are eighty
// quarter-rounds of the same shape and Poly1305's products are twenty-five; the binary is the `wabt` package's
// translation of that text, byte for byte the same on every machine.
//
//   node enclave/scripts/chacha20-wasm.mjs           writes both files
//   node enclave/scripts/chacha20-wasm.mjs --check   exits 1 when either file differs from what it would write
//
// Why WebAssembly: the module's linear memory is one buffer outside the JavaScript heap that the caller zeroes
// after every use, and its arithmetic is on i32 values, never JavaScript numbers; so neither the key, the
// HChaCha20 subkey nor any keystream word is left behind in memory nobody zeroes (src/chacha/chacha20.ts).
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { emitModule } from './wasm-module.mjs';

const outDir = join(dirname(fileURLToPath(import.meta.url)), '..', 'src', 'chacha');

// Memory layout (bytes), shared with chacha20.ts: the key at 0, state words 12–15 at 32 (block counter or
// HChaCha20's first nonce word, then the nonce), Poly1305's accumulator at 48 (five 26-bit limbs as i32), its
// one-time key at 80 (r, then s), its tag at 112, the data from 128 (whole 64-byte blocks).
const KEY = 0;
const WORDS_12_15 = 32;
const POLY_H = 48;
const POLY_KEY = 80;
const POLY_TAG = 112;
const DATA = 128;
const SIGMA = [0x61707865, 0x3320646e, 0x79622d32, 0x6b206574]; // "expand 32-byte k"

const x = (i) => `$x${i}`;
function quarterRound(a, b, c, d) {
  const step = (p, q, r, bits) => [
    `local.get ${x(p)} local.get ${x(q)} i32.add local.set ${x(p)}`,
    `local.get ${x(r)} local.get ${x(p)} i32.xor i32.const ${bits} i32.rotl local.set ${x(r)}`,
  ];
  return [...step(a, b, d, 16), ...step(c, d, b, 12), ...step(a, b, d, 8), ...step(c, d, b, 7)];
}
/** The state (RFC 8439 §2.3) into $x0–$x15: the constants, the key, then words 12–15 (`word12`: an expression or undefined for memory). */
function loadState(word12) {
  const lines = SIGMA.map((c, i) => `i32.const ${c | 0} local.set ${x(i)}`);
  for (let i = 0; i < 8; i++) lines.push(`i32.const 0 i32.load offset=${KEY + 4 * i} local.set ${x(4 + i)}`);
  lines.push(word12 ? `${word12} local.set ${x(12)}` : `i32.const 0 i32.load offset=${WORDS_12_15} local.set ${x(12)}`);
  for (let i = 1; i < 4; i++) lines.push(`i32.const 0 i32.load offset=${WORDS_12_15 + 4 * i} local.set ${x(12 + i)}`);
  return lines;
}
/** Twenty rounds: ten double rounds, each four column and four diagonal quarter-rounds (RFC 8439 §2.3). */
function twentyRounds() {
  const body = [
    ...quarterRound(0, 4, 8, 12),
    ...quarterRound(1, 5, 9, 13),
    ...quarterRound(2, 6, 10, 14),
    ...quarterRound(3, 7, 11, 15),
    ...quarterRound(0, 5, 10, 15),
    ...quarterRound(1, 6, 11, 12),
    ...quarterRound(2, 7, 8, 13),
    ...quarterRound(3, 4, 9, 14),
  ];
  return [
    'i32.const 10 local.set $round',
    'loop $rounds',
    ...body.map((l) => `  ${l}`),
    '  local.get $round i32.const 1 i32.sub local.tee $round',
    '  br_if $rounds',
    'end',
  ];
}
/** Word i of the initial state again (for the final addition), as an expression; word 12 is the block counter. */
function initialWord(i) {
  if (i < 4) return `i32.const ${SIGMA[i] | 0}`;
  if (i < 12) return `i32.const 0 i32.load offset=${KEY + 4 * (i - 4)}`;
  if (i === 12) return 'local.get $counter';
  return `i32.const 0 i32.load offset=${WORDS_12_15 + 4 * (i - 12)}`;
}

const locals = `(local ${Array.from({ length: 16 }, (_, i) => `${x(i)} i32`).join(') (local ')}) (local $round i32)`;
const indent = (lines, n) => lines.map((l) => `${' '.repeat(n)}${l}`).join('\n');

const xorBody = [
  `i32.const ${DATA} local.set $at`,
  'block $done',
  '  loop $blocks',
  '    local.get $blocks i32.eqz br_if $done',
  ...indent([...loadState('local.get $counter'), ...twentyRounds()], 4).split('\n'),
  // The block's keystream (state after the rounds plus the initial state), XORed into the data in place.
  ...Array.from({ length: 16 }, (_, i) =>
    [
      `    local.get $at`,
      `    local.get $at i32.load offset=${4 * i}`,
      `    local.get ${x(i)} ${initialWord(i)} i32.add`,
      `    i32.xor i32.store offset=${4 * i}`,
    ].join(' '),
  ),
  '    local.get $at i32.const 64 i32.add local.set $at',
  '    local.get $counter i32.const 1 i32.add local.set $counter',
  '    local.get $blocks i32.const 1 i32.sub local.set $blocks',
  '    br $blocks',
  '  end',
  'end',
];

const hchachaBody = [
  ...loadState(undefined),
  ...twentyRounds(),
  // HChaCha20 (draft-irtf-cfrg-xchacha §2.2): words 0–3 and 12–15 after the rounds, no addition, over the key.
  ...[0, 1, 2, 3, 12, 13, 14, 15].map((w, i) => `i32.const 0 local.get ${x(w)} i32.store offset=${KEY + 4 * i}`),
];

// Poly1305 (RFC 8439 §2.5) on 26-bit limbs with 64-bit products, as poly1305-donna's 32-bit version computes it.
const M26 = 0x3ffffff;
const i64 = (name) => `(local ${name} i64)`;
const polyLocals = ['$r0', '$r1', '$r2', '$r3', '$r4', '$s1', '$s2', '$s3', '$s4', '$h0', '$h1', '$h2', '$h3', '$h4', '$d0', '$d1', '$d2', '$d3', '$d4', '$c']
  .map(i64)
  .join(' ');
/** `target` = Σ a·b over the pairs (i64). */
const sumOfProducts = (target, pairs) =>
  [...pairs.map(([a, b], i) => `local.get ${a} local.get ${b} i64.mul${i > 0 ? ' i64.add' : ''}`), `local.set ${target}`].join(' ');
const polyBlocksBody = [
  // r, clamped (§2.5.1), read from the one-time key on each call; s_i = 5·r_i.
  `i32.const 0 i64.load32_u offset=${POLY_KEY} align=1 i64.const ${M26} i64.and local.set $r0`,
  `i32.const 0 i64.load32_u offset=${POLY_KEY + 3} align=1 i64.const 2 i64.shr_u i64.const ${0x3ffff03} i64.and local.set $r1`,
  `i32.const 0 i64.load32_u offset=${POLY_KEY + 6} align=1 i64.const 4 i64.shr_u i64.const ${0x3ffc0ff} i64.and local.set $r2`,
  `i32.const 0 i64.load32_u offset=${POLY_KEY + 9} align=1 i64.const 6 i64.shr_u i64.const ${0x3f03fff} i64.and local.set $r3`,
  `i32.const 0 i64.load32_u offset=${POLY_KEY + 12} align=1 i64.const 8 i64.shr_u i64.const ${0x00fffff} i64.and local.set $r4`,
  ...[1, 2, 3, 4].map((i) => `local.get $r${i} i64.const 5 i64.mul local.set $s${i}`),
  ...[0, 1, 2, 3, 4].map((i) => `i32.const 0 i64.load32_u offset=${POLY_H + 4 * i} local.set $h${i}`),
  `i32.const ${DATA} local.set $at`,
  'block $done',
  '  loop $blocks',
  '    local.get $blocks i32.eqz br_if $done',
  // h += the block, as five 26-bit limbs, with 2^128 (hibit) above a whole block.
  `    local.get $h0 local.get $at i64.load32_u offset=0 align=1 i64.const ${M26} i64.and i64.add local.set $h0`,
  `    local.get $h1 local.get $at i64.load32_u offset=3 align=1 i64.const 2 i64.shr_u i64.const ${M26} i64.and i64.add local.set $h1`,
  `    local.get $h2 local.get $at i64.load32_u offset=6 align=1 i64.const 4 i64.shr_u i64.const ${M26} i64.and i64.add local.set $h2`,
  `    local.get $h3 local.get $at i64.load32_u offset=9 align=1 i64.const 6 i64.shr_u i64.const ${M26} i64.and i64.add local.set $h3`,
  `    local.get $h4 local.get $at i64.load32_u offset=12 align=1 i64.const 8 i64.shr_u local.get $hibit i64.extend_i32_u i64.or i64.add local.set $h4`,
  // h *= r, mod 2^130 − 5 (partly reduced).
  `    ${sumOfProducts('$d0', [
    ['$h0', '$r0'],
    ['$h1', '$s4'],
    ['$h2', '$s3'],
    ['$h3', '$s2'],
    ['$h4', '$s1'],
  ])}`,
  `    ${sumOfProducts('$d1', [
    ['$h0', '$r1'],
    ['$h1', '$r0'],
    ['$h2', '$s4'],
    ['$h3', '$s3'],
    ['$h4', '$s2'],
  ])}`,
  `    ${sumOfProducts('$d2', [
    ['$h0', '$r2'],
    ['$h1', '$r1'],
    ['$h2', '$r0'],
    ['$h3', '$s4'],
    ['$h4', '$s3'],
  ])}`,
  `    ${sumOfProducts('$d3', [
    ['$h0', '$r3'],
    ['$h1', '$r2'],
    ['$h2', '$r1'],
    ['$h3', '$r0'],
    ['$h4', '$s4'],
  ])}`,
  `    ${sumOfProducts('$d4', [
    ['$h0', '$r4'],
    ['$h1', '$r3'],
    ['$h2', '$r2'],
    ['$h3', '$r1'],
    ['$h4', '$r0'],
  ])}`,
  `    local.get $d0 i64.const 26 i64.shr_u local.set $c local.get $d0 i64.const ${M26} i64.and local.set $h0`,
  ...[1, 2, 3, 4].map(
    (i) =>
      `    local.get $d${i} local.get $c i64.add local.set $d${i} local.get $d${i} i64.const 26 i64.shr_u local.set $c local.get $d${i} i64.const ${M26} i64.and local.set $h${i}`,
  ),
  `    local.get $h0 local.get $c i64.const 5 i64.mul i64.add local.set $h0`,
  `    local.get $h0 i64.const 26 i64.shr_u local.set $c local.get $h0 i64.const ${M26} i64.and local.set $h0`,
  '    local.get $h1 local.get $c i64.add local.set $h1',
  '    local.get $at i32.const 16 i32.add local.set $at',
  '    local.get $blocks i32.const 1 i32.sub local.set $blocks',
  '    br $blocks',
  '  end',
  'end',
  ...[0, 1, 2, 3, 4].map((i) => `i32.const 0 local.get $h${i} i64.store32 offset=${POLY_H + 4 * i}`),
];
/** `h` carried in full (limbs 1 → 4 → 0 → 1). */
const carry = (from, to, times5 = false) =>
  `local.get $h${from} i64.const 26 i64.shr_u local.set $c local.get $h${from} i64.const ${M26} i64.and local.set $h${from} ` +
  `local.get $h${to} local.get $c${times5 ? ' i64.const 5 i64.mul' : ''} i64.add local.set $h${to}`;
const polyFinishBody = [
  ...[0, 1, 2, 3, 4].map((i) => `i32.const 0 i64.load32_u offset=${POLY_H + 4 * i} local.set $h${i}`),
  carry(1, 2),
  carry(2, 3),
  carry(3, 4),
  carry(4, 0, true),
  carry(0, 1),
  // g = h + 5 − 2^130; h ≥ p exactly when g ≥ 0: then the tag is g's low bits, else h's (chosen by mask, no branch).
  `local.get $h0 i64.const 5 i64.add local.set $d0 local.get $d0 i64.const 26 i64.shr_u local.set $c local.get $d0 i64.const ${M26} i64.and local.set $d0`,
  ...[1, 2, 3].map(
    (i) =>
      `local.get $h${i} local.get $c i64.add local.set $d${i} local.get $d${i} i64.const 26 i64.shr_u local.set $c local.get $d${i} i64.const ${M26} i64.and local.set $d${i}`,
  ),
  `local.get $h4 local.get $c i64.add i64.const ${2 ** 26} i64.sub local.set $d4`,
  // $c: all ones when g < 0 (keep h), zero otherwise (take g).
  'local.get $d4 i64.const 63 i64.shr_s local.set $c',
  ...[0, 1, 2, 3, 4].map((i) => `local.get $h${i} local.get $c i64.and local.get $d${i} local.get $c i64.const -1 i64.xor i64.and i64.or local.set $h${i}`),
  // h mod 2^128 as four 32-bit words (into $d0–$d3), plus s (the key's second half), mod 2^128.
  'local.get $h0 local.get $h1 i64.const 26 i64.shl i64.or i64.const 4294967295 i64.and local.set $d0',
  'local.get $h1 i64.const 6 i64.shr_u local.get $h2 i64.const 20 i64.shl i64.or i64.const 4294967295 i64.and local.set $d1',
  'local.get $h2 i64.const 12 i64.shr_u local.get $h3 i64.const 14 i64.shl i64.or i64.const 4294967295 i64.and local.set $d2',
  'local.get $h3 i64.const 18 i64.shr_u local.get $h4 i64.const 8 i64.shl i64.or i64.const 4294967295 i64.and local.set $d3',
  'i64.const 0 local.set $c',
  ...[0, 1, 2, 3].map(
    (i) =>
      `local.get $d${i} i32.const 0 i64.load32_u offset=${POLY_KEY + 16 + 4 * i} i64.add local.get $c i64.add local.set $c ` +
      `i32.const 0 local.get $c i64.store32 offset=${POLY_TAG + 4 * i} local.get $c i64.const 32 i64.shr_u local.set $c`,
  ),
];

const wat = `;; GENERATED by enclave/scripts/chacha20-wasm.mjs. Do not edit.
;; ChaCha20's block function (RFC 8439 §2.3), HChaCha20 (draft-irtf-cfrg-xchacha §2.2) and Poly1305 (RFC 8439 §2.5)
;; over one memory that the caller fills and zeroes (src/chacha/chacha20.ts): the key at ${KEY}, state words 12-15 at
;; ${WORDS_12_15}, Poly1305's accumulator at ${POLY_H}, its one-time key at ${POLY_KEY}, its tag at ${POLY_TAG}, data from ${DATA}.
(module
  (memory (export "memory") 2)
  ;; XORs \`blocks\` 64-byte blocks of data, from byte ${DATA}, with the keystream of block counters \`counter\`, \`counter\`+1, ...
  ;; (the key at ${KEY}; words 13-15 of the state, the 96-bit nonce, at ${WORDS_12_15 + 4}).
  (func (export "xor") (param $counter i32) (param $blocks i32) ${locals} (local $at i32)
${indent(xorBody, 4)}
  )
  ;; HChaCha20 of the key at ${KEY} and the 128-bit nonce at ${WORDS_12_15}: the 32-byte subkey, written over the key.
  (func (export "hchacha") ${locals}
${indent(hchachaBody, 4)}
  )
  ;; Adds \`blocks\` 16-byte blocks of data, from byte ${DATA}, to the accumulator at ${POLY_H} under the key at ${POLY_KEY}
  ;; (\`hibit\` 2^24 for whole blocks, 0 for a last partial block the caller padded with 1 then zeros).
  (func (export "polyBlocks") (param $blocks i32) (param $hibit i32) ${polyLocals} (local $at i32)
${indent(polyBlocksBody, 4)}
  )
  ;; The tag of the accumulator at ${POLY_H} and the key's second half at ${POLY_KEY + 16}, written to ${POLY_TAG}.
  (func (export "polyFinish") ${polyLocals}
${indent(polyFinishBody, 4)}
  )
)
`;

await emitModule({
  generator: 'enclave/scripts/chacha20-wasm.mjs',
  outDir,
  name: 'chacha20',
  wat,
  exportName: 'CHACHA20_WASM_BASE64',
  moreTs: `/** Its memory layout: the key, state words 12–15, Poly1305's accumulator, one-time key and tag, the data (whole 64-byte blocks up to the end of the memory). */
export const LAYOUT = {
  key: ${KEY},
  words12to15: ${WORDS_12_15},
  polyAccumulator: ${POLY_H},
  polyKey: ${POLY_KEY},
  polyTag: ${POLY_TAG},
  data: ${DATA},
  memoryBytes: ${2 * 65536},
} as const;
`,
});
