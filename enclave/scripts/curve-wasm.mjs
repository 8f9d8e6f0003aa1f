// What the two curve generators share (point-wasm.mjs for secp256k1, ed25519-wasm.mjs for edwards25519), on top of
// field-wasm.mjs's $fmul, $fadd, $fsub and $fcopy: repeated squaring, an inversion by a checked addition chain, a
// point addition written as a list of field steps, and the fixed-base multiplication by a table of j·16^i·B (every
// entry of a row read, the one the scalar's nibble names kept by mask; no branch, loop count or address depends on
// the scalar).

/** `base` + `offset` as an address expression. */
export const at = (base, offset) => (offset ? `(i32.add ${base} (i32.const ${offset}))` : base);

/** $fsqrn (o, a, n): o = a^(2^n), n ≥ 1. */
export const fsqrn = `  ;; o = a^(2^n), n ≥ 1
  (func $fsqrn (param $o i32) (param $a i32) (param $n i32)
    (call $fmul (local.get $o) (local.get $a) (local.get $a))
    (loop $more
      (br_if 1 (i32.eqz (local.tee $n (i32.sub (local.get $n) (i32.const 1)))))
      (call $fmul (local.get $o) (local.get $o) (local.get $o))
      (br $more)))`;

/**
 * $finv (o, a): a^exponent by an addition chain of steps [target, source, squarings, multiplier or null] (a the
 * input; the other names are field elements at `addressOf[name]`, the result in `t`). The chain is checked here by
 * following the exponent.
 */
export function inversion(chain, exponent, addressOf) {
  const followed = { a: 1n };
  for (const [target, source, squarings, by] of chain) followed[target] = (followed[source] << BigInt(squarings)) + (by ? followed[by] : 0n);
  if (followed.t !== exponent) throw new Error('the inversion chain does not compute its exponent');
  const addr = (n) => (n === 'a' ? '(local.get $a)' : `(i32.const ${addressOf[n]})`);
  return [
    '(func $finv (param $o i32) (param $a i32)',
    ...chain.flatMap(([target, source, squarings, by]) => [
      ...(squarings ? [`(call $fsqrn ${addr(target)} ${addr(source)} (i32.const ${squarings}))`] : []),
      ...(by ? [`(call $fmul ${addr(target)} ${squarings ? addr(target) : addr(source)} ${addr(by)})`] : []),
    ]),
    `(call $fcopy (local.get $o) (i32.const ${addressOf.t}))`,
    ')',
  ].join('\n');
}

/**
 * $padd (o, p, q): `steps` ("op target a [b]", op one of `functions`' keys) over the coordinates of p and q (names
 * X1, Y1, … X2, …, each 32 bytes from the point's address, in the order of `coordinates`) and temporaries at
 * `temporaries[name]`; the result's coordinates, `results` in order, are then copied to o, so o may be p or q.
 */
export function addition({ coordinates, temporaries, constants = {}, steps, functions, results }) {
  const names = {
    ...Object.fromEntries(
      coordinates.flatMap((c, i) => [
        [`${c}1`, at('(local.get $p)', 32 * i)],
        [`${c}2`, at('(local.get $q)', 32 * i)],
      ]),
    ),
    ...Object.fromEntries(Object.entries({ ...temporaries, ...constants }).map(([n, a]) => [n, `(i32.const ${a})`])),
  };
  return [
    '(func $padd (param $o i32) (param $p i32) (param $q i32)',
    ...steps.map((s) => {
      const [op, ...args] = s.split(' ');
      return `(call ${functions[op]} ${args.map((a) => names[a]).join(' ')})`;
    }),
    ...results.map((n, i) => `(call $fcopy ${at('(local.get $o)', 32 * i)} ${names[n]})`),
    ')',
  ].join('\n');
}

/**
 * The table and the multiplication: $neutral (o) writes the neutral point; $pick (k, i) copies to `pick` the entry
 * of row i that nibble i of the 32-byte scalar at k names; "init" (exported) fills the table, rows of 16 points of
 * `pointBytes` (row i, entry j = j·16^i·B), from B at `base` (written by `baseInit`, public); $windows (k) leaves
 * k·B at `acc`. `neutral` lists the byte offsets set to 1 in the neutral point (its other bytes are 0).
 */
export function fixedBase({ pointBytes, neutral, table, base, baseInit, pick, acc, wipeTo }) {
  const row = 16 * pointBytes;
  return `  ;; the neutral point at o
  (func $neutral (param $o i32)
    (memory.fill (local.get $o) (i32.const 0) (i32.const ${pointBytes}))
${neutral.map((offset) => `    (i32.store8 offset=${offset} (local.get $o) (i32.const 1))`).join('\n')})

  ;; ${pick} = entry j of row i, j the nibble i of the scalar at k: every entry read, the one kept chosen by mask
  (func $pick (param $k i32) (param $i i32) (local $nibble i32) (local $j i32) (local $mask i64) (local $src i32) (local $l i32)
    (local.set $nibble (i32.and (i32.shr_u (i32.load8_u (i32.add (local.get $k) (i32.shr_u (local.get $i) (i32.const 1))))
      (i32.shl (i32.and (local.get $i) (i32.const 1)) (i32.const 2))) (i32.const 15)))
    (memory.fill (i32.const ${pick}) (i32.const 0) (i32.const ${pointBytes}))
    (local.set $src (i32.add (i32.const ${table}) (i32.mul (local.get $i) (i32.const ${row}))))
    (local.set $j (i32.const 0))
    (loop $entries
      (local.set $mask (i64.sub (i64.const 0) (i64.extend_i32_u (i32.eq (local.get $j) (local.get $nibble)))))
      (local.set $l (i32.const 0))
      (loop $words
        (i64.store offset=${pick} (local.get $l)
          (i64.or (i64.load offset=${pick} (local.get $l)) (i64.and (i64.load (i32.add (local.get $src) (local.get $l))) (local.get $mask))))
        (br_if $words (i32.lt_u (local.tee $l (i32.add (local.get $l) (i32.const 8))) (i32.const ${pointBytes}))))
      (local.set $src (i32.add (local.get $src) (i32.const ${pointBytes})))
      (br_if $entries (i32.lt_u (local.tee $j (i32.add (local.get $j) (i32.const 1))) (i32.const 16)))))

  ;; The table: row i holds j·P for j = 0..15, P = 16^i·B (public; computed once, before any secret is written).
  (func (export "init") (local $i i32) (local $j i32) (local $row i32)
${baseInit}
    (local.set $i (i32.const 0))
    (loop $rows
      (local.set $row (i32.add (i32.const ${table}) (i32.mul (local.get $i) (i32.const ${row}))))
      (call $neutral (local.get $row))
      (memory.copy (i32.add (local.get $row) (i32.const ${pointBytes})) (i32.const ${base}) (i32.const ${pointBytes}))
      (local.set $j (i32.const 2))
      (loop $entries
        (call $padd (i32.add (local.get $row) (i32.mul (local.get $j) (i32.const ${pointBytes})))
          (i32.add (local.get $row) (i32.mul (i32.sub (local.get $j) (i32.const 1)) (i32.const ${pointBytes}))) (i32.const ${base}))
        (br_if $entries (i32.lt_u (local.tee $j (i32.add (local.get $j) (i32.const 1))) (i32.const 16))))
      (call $padd (i32.const ${base}) (i32.add (local.get $row) (i32.const ${15 * pointBytes})) (i32.const ${base}))
      (br_if $rows (i32.lt_u (local.tee $i (i32.add (local.get $i) (i32.const 1))) (i32.const 64))))
    (memory.fill (i32.const 0) (i32.const 0) (i32.const ${wipeTo})))

  ;; ${acc} = k·B for the 32 bytes at k (any 256-bit number): 64 windows, one complete addition each
  (func $windows (param $k i32) (local $i i32)
    (call $neutral (i32.const ${acc}))
    (local.set $i (i32.const 0))
    (loop $each
      (call $pick (local.get $k) (local.get $i))
      (call $padd (i32.const ${acc}) (i32.const ${acc}) (i32.const ${pick}))
      (br_if $each (i32.lt_u (local.tee $i (i32.add (local.get $i) (i32.const 1))) (i32.const 64)))))`;
}
