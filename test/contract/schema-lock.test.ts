/**
 * Field numbers and types are forever: the schema must agree with the
 * committed lock (proto/schema/schema.lock.json), and the checker must catch
 * the mistakes it exists for.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
// @ts-expect-error -- plain ESM helper without type declarations
import { compareWithLock, loadSchema, LOCK_FILE, SCHEMA_FILE, snapshot } from '../../proto/scripts/schema-tools.mjs';

type Snapshot = { messages: Record<string, unknown>; enums: Record<string, unknown> };
const lock = JSON.parse(readFileSync(LOCK_FILE, 'utf8')) as Snapshot;
const schemaText = readFileSync(SCHEMA_FILE, 'utf8');

/** The lock problems of a variant of the schema. */
function problemsOf(text: string): string[] {
  const dir = mkdtempSync(join(tmpdir(), 'schema-'));
  const file = join(dir, 'enclave_wallet.proto');
  writeFileSync(file, text);
  return compareWithLock(snapshot(loadSchema(file)), lock) as string[];
}

function mutate(from: string, to: string): string {
  expect(schemaText).toContain(from);
  return schemaText.replace(from, to);
}

test('the schema agrees with the committed lock', () => {
  expect(compareWithLock(snapshot(loadSchema()), lock)).toEqual([]);
});

test('renumbering a field fails', () => {
  const problems = problemsOf(
    mutate('  string wallet_id = 2;\n  // HPKE envelope, purpose "create-wallet"', '  string wallet_id = 20;\n  // HPKE envelope, purpose "create-wallet"'),
  );
  expect(problems.join('\n')).toMatch(/CreateWalletRequest: field 2 \(walletId\) was removed/);
});

test('changing a field type fails', () => {
  const problems = problemsOf(mutate('  uint32 attempts_left = 3;', '  uint64 attempts_left = 3;'));
  expect(problems.join('\n')).toMatch(/Error: field 3 was singular uint32 attemptsLeft, is now singular uint64 attemptsLeft/);
});

test('reusing a reserved number fails', () => {
  const problems = problemsOf(mutate('  reserved 8;\n  reserved "debug_note";\n', '  string note = 8;\n'));
  expect(problems.join('\n')).toMatch(/Error: field 8 \(note\) reuses a reserved number/);
});

test('removing a field without reserving it fails; reserving number and name passes', () => {
  const removed = mutate('  // With PIN_LOCKED: seconds until the next attempt is allowed.\n  uint32 retry_after_seconds = 4;\n', '');
  expect(problemsOf(removed).join('\n')).toMatch(/Error: field 4 \(retryAfterSeconds\) was removed without reserving/);
  const reserved = mutate(
    '  // With PIN_LOCKED: seconds until the next attempt is allowed.\n  uint32 retry_after_seconds = 4;\n',
    '  reserved 4;\n  reserved "retryAfterSeconds";\n',
  );
  expect(problemsOf(reserved)).toEqual([]);
});

test('renumbering an error code fails', () => {
  const problems = problemsOf(mutate('  PIN_INVALID = 600;', '  PIN_INVALID = 699;'));
  expect(problems.join('\n')).toMatch(/ErrorCode: value 600 \(PIN_INVALID\) was removed/);
});
