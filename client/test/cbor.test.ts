/** Our strict CBOR decoder agrees with an independent library (cborg) and refuses what it should. */
import fc from 'fast-check';
import { encode as cborgEncode } from 'cborg';
import { CborError, decodeCbor } from '../src/attestation/cbor.js';

const value: fc.Arbitrary<unknown> = fc.letrec((tie) => ({
  leaf: fc.oneof(fc.integer({ min: -(2 ** 40), max: 2 ** 40 }), fc.string(), fc.uint8Array({ maxLength: 40 }), fc.boolean(), fc.constant(null)),
  node: fc.oneof(
    { depthSize: 'small' },
    tie('leaf'),
    fc.array(tie('node'), { maxLength: 4 }),
    fc.dictionary(fc.string({ maxLength: 6 }), tie('node'), { maxKeys: 4 }),
  ),
})).node;

/** Converts cborg's plain-object maps to the Maps our decoder returns. */
function normalise(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(normalise);
  if (v instanceof Uint8Array) return v;
  if (v !== null && typeof v === 'object') return new Map(Object.entries(v).map(([k, x]) => [k, normalise(x)]));
  return v;
}

test('decodes whatever cborg encodes, to the same values', () => {
  fc.assert(
    fc.property(value, (v) => {
      expect(decodeCbor(cborgEncode(v))).toEqual(normalise(v));
    }),
    { numRuns: 400 },
  );
});

test('indefinite-length maps, arrays and chunked strings', () => {
  // {_ "a": [_ 1, 2], "b": (_ h'01', h'02') }
  const bytes = Uint8Array.from([0xbf, 0x61, 0x61, 0x9f, 0x01, 0x02, 0xff, 0x61, 0x62, 0x5f, 0x41, 0x01, 0x41, 0x02, 0xff, 0xff]);
  expect(decodeCbor(bytes)).toEqual(
    new Map<unknown, unknown>([
      ['a', [1, 2]],
      ['b', Uint8Array.of(1, 2)],
    ]),
  );
});

test.each([
  ['trailing bytes', [0x01, 0x02]],
  ['truncated', [0x62, 0x61]],
  ['duplicate keys', [0xa2, 0x01, 0x01, 0x01, 0x02]],
  ['a stray break', [0xff]],
  ['floats', [0xf9, 0x3c, 0x00]],
  ['bad UTF-8', [0x61, 0xff]],
  ['a huge length', [0x5a, 0xff, 0xff, 0xff, 0xff]],
  ['an unterminated indefinite map', [0xbf, 0x01, 0x02]],
])('refuses %s', (_name, bytes) => {
  expect(() => decodeCbor(Uint8Array.from(bytes))).toThrow(CborError);
});

test('random bytes give a value or a CborError, never anything else', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => {
      try {
        decodeCbor(bytes);
      } catch (err) {
        expect(err).toBeInstanceOf(CborError);
      }
    }),
    { numRuns: 2000 },
  );
});
