#!/usr/bin/env node
// `npm run proto:lock`: after an additive schema change, records new field
// numbers in schema/schema.lock.json and golden encodings of new messages in
// schema/golden.json. It refuses changes that break the lock, and never
// rewrites a golden encoding that is already pinned.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { allTypes, extendLock, GOLDEN_FILE, goldenCases, loadSchema, LOCK_FILE, snapshot } from './schema-tools.mjs';

const root = loadSchema();
const lock = existsSync(LOCK_FILE) ? JSON.parse(readFileSync(LOCK_FILE, 'utf8')) : { messages: {}, enums: {} };
writeFileSync(LOCK_FILE, JSON.stringify(extendLock(snapshot(root), lock), null, 2) + '\n');

const golden = existsSync(GOLDEN_FILE) ? JSON.parse(readFileSync(GOLDEN_FILE, 'utf8')) : {};
let added = 0;
for (const type of allTypes(root).messages) {
  for (const [key, object] of goldenCases(type)) {
    if (golden[key]) continue;
    golden[key] = { object, hex: Buffer.from(type.encode(type.fromObject(object)).finish()).toString('hex') };
    added++;
  }
}
const sorted = Object.fromEntries(
  Object.keys(golden)
    .sort()
    .map((k) => [k, golden[k]]),
);
writeFileSync(GOLDEN_FILE, JSON.stringify(sorted, null, 2) + '\n');
console.log(`schema lock updated; ${added} golden encoding(s) added`);
