/** Every message, field and enum value of the schema carries a comment, and every error code an HTTP status. */
import { ERROR_CODE_NAMES, v1 } from '@enclave-wallet/proto';
import { HTTP_STATUS } from '../../host/src/api/http-status.js';
// @ts-expect-error -- plain ESM helper without type declarations
import { allTypes, loadSchema } from '../../proto/scripts/schema-tools.mjs';

interface Reflected {
  fullName: string;
  comment: string | null;
  fieldsArray?: Array<{ name: string; comment: string | null }>;
  oneofsArray?: Array<{ name: string; comment: string | null }>;
  values?: Record<string, number>;
  comments?: Record<string, string | null>;
}
const { messages, enums } = allTypes(loadSchema()) as { messages: Reflected[]; enums: Reflected[] };

test('every message, field and oneof is commented', () => {
  const missing: string[] = [];
  for (const m of messages) {
    if (!m.comment) missing.push(m.fullName);
    for (const f of m.fieldsArray ?? []) if (!f.comment) missing.push(`${m.fullName}.${f.name}`);
    for (const o of m.oneofsArray ?? []) if (!o.comment) missing.push(`${m.fullName}.${o.name} (oneof)`);
  }
  expect(missing).toEqual([]);
});

test('every enum and enum value is commented', () => {
  const missing: string[] = [];
  for (const e of enums) {
    if (!e.comment) missing.push(e.fullName);
    for (const name of Object.keys(e.values ?? {})) if (!e.comments?.[name]) missing.push(`${e.fullName}.${name}`);
  }
  expect(missing).toEqual([]);
});

test('error codes: one per schema value, each with an HTTP status, grouped in ranges of 100', () => {
  const schemaNames = Object.keys(v1.ErrorCode).filter((k) => Number.isNaN(Number(k)) && k !== 'ERROR_CODE_UNSPECIFIED');
  expect([...ERROR_CODE_NAMES].sort()).toEqual(schemaNames.sort());
  for (const name of schemaNames) {
    expect(HTTP_STATUS[name as keyof typeof HTTP_STATUS]).toBeGreaterThanOrEqual(400);
    expect(name).toMatch(/^[A-Z][A-Z0-9_]*$/);
    expect(v1.ErrorCode[name as keyof typeof v1.ErrorCode]).toBeGreaterThanOrEqual(100);
  }
});
