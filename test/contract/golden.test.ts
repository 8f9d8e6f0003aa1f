/**
 * Pinned encodings: every message of the schema (and every oneof member of
 * it) has committed bytes in proto/schema/golden.json. The generated code
 * must produce exactly those bytes and read them back, and an independent
 * wire reader must find in them the field numbers the lock names.
 */
import { readFileSync } from 'node:fs';
import { v1 } from '@enclave-wallet/proto';
// @ts-expect-error -- plain ESM helper without type declarations
import { allTypes, GOLDEN_FILE, goldenCases, loadSchema, LOCK_FILE } from '../../proto/scripts/schema-tools.mjs';
import { readWire } from './wire.js';

interface Golden {
  object: Record<string, unknown>;
  hex: string;
}
const golden = JSON.parse(readFileSync(GOLDEN_FILE, 'utf8')) as Record<string, Golden>;
const lock = JSON.parse(readFileSync(LOCK_FILE, 'utf8')) as { messages: Record<string, { fields: Record<string, { rule: string; type: string }> }> };
const root = loadSchema();
const expectedKeys: string[] = (allTypes(root).messages as unknown[]).flatMap((t) => (goldenCases(t) as Array<[string, unknown]>).map(([k]) => k));

interface StaticType {
  fromObject(o: unknown): unknown;
  encode(m: unknown): { finish(): Uint8Array };
  decode(b: Uint8Array): unknown;
  toObject(m: unknown, o: unknown): Record<string, unknown>;
}
const staticType = (key: string): StaticType => (v1 as unknown as Record<string, StaticType>)[key.split('#')[0]!.split('.').pop()!]!;
const TO_OBJECT = { bytes: String, enums: String, longs: Number, defaults: false, oneofs: false };

test('every message and oneof member has a golden encoding', () => {
  expect(expectedKeys.length).toBeGreaterThan(40);
  expect(expectedKeys.filter((k) => !golden[k])).toEqual([]);
});

describe.each(Object.keys(golden))('%s', (key) => {
  const { object, hex } = golden[key]!;

  test('the generated code writes exactly the pinned bytes', () => {
    const type = staticType(key);
    expect(Buffer.from(type.encode(type.fromObject(object)).finish()).toString('hex')).toBe(hex);
  });

  test('the generated code reads the pinned bytes back to the same object', () => {
    const type = staticType(key);
    expect(type.toObject(type.decode(Buffer.from(hex, 'hex')), TO_OBJECT)).toEqual(object);
  });

  test('an independent wire reader finds the locked field numbers and wire types', () => {
    const fields = readWire(Buffer.from(hex, 'hex'));
    const locked = lock.messages[key.split('#')[0]!]!.fields;
    for (const f of fields) {
      const entry = locked[String(f.number)];
      expect(entry).toBeDefined();
      const lengthDelimited = entry!.rule === 'map' || ['string', 'bytes'].includes(entry!.type) || entry!.type.startsWith('enclavewallet.');
      const isEnum = entry!.type.startsWith('enclavewallet.') && !lock.messages[entry!.type];
      expect(f.wireType).toBe(lengthDelimited && !isEnum ? 2 : 0);
    }
  });
});
