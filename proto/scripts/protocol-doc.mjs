#!/usr/bin/env node
// Writes the reference part of docs/protocol.md (every message, field, enum
// value and error code, from the schema's own comments) between the markers
// below. The prose around the markers is hand-written and left alone. A
// contract test fails when the reference is stale: run `npm run proto:doc`.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { allTypes, loadSchema, PROTO_DIR } from './schema-tools.mjs';

export const DOC_FILE = join(PROTO_DIR, '..', 'docs', 'protocol.md');
export const BEGIN = '<!-- BEGIN GENERATED REFERENCE (npm run proto:doc) -->';
export const END = '<!-- END GENERATED REFERENCE -->';

const short = (fullName) => fullName.replace(/^\.?enclavewallet\.v1\./, '');
const oneLine = (text) =>
  (text ?? '')
    .replace(/\s*\n\s*/g, ' ')
    .replace(/\|/g, '\\|')
    .trim();

/** The generated reference as Markdown. */
export function renderReference(root = loadSchema()) {
  const { messages, enums } = allTypes(root);
  const out = [];
  out.push('### Messages', '');
  for (const m of messages) {
    out.push(`#### ${short(m.fullName)}`, '', oneLine(m.comment), '');
    if (m.fieldsArray.length === 0) {
      out.push('No fields.', '');
      continue;
    }
    out.push('| # | field | type | meaning |', '| --- | --- | --- | --- |');
    for (const f of [...m.fieldsArray].sort((a, b) => a.id - b.id)) {
      const base = f.resolvedType ? short(f.resolvedType.fullName) : f.type;
      const type = f.map ? `map<${f.keyType}, ${base}>` : f.repeated ? `repeated ${base}` : base;
      const oneof = f.partOf ? ` (oneof \`${f.partOf.name}\`)` : '';
      out.push(`| ${f.id} | \`${f.name}\` | ${type}${oneof} | ${oneLine(f.comment)} |`);
    }
    if (m.reserved?.length) out.push('', `Reserved: ${m.reserved.map((r) => (Array.isArray(r) ? r.join('–') : `\`${r}\``)).join(', ')}.`);
    out.push('');
  }
  const errorEnum = enums.find((e) => short(e.fullName) === 'ErrorCode');
  for (const e of enums) {
    if (e === errorEnum) continue;
    out.push(`### Enum ${short(e.fullName)}`, '', oneLine(e.comment), '', '| value | name | meaning |', '| --- | --- | --- |');
    for (const [name, value] of Object.entries(e.values)) out.push(`| ${value} | \`${name}\` | ${oneLine(e.comments[name])} |`);
    out.push('');
  }
  out.push('### Error codes', '', oneLine(errorEnum.comment), '', '| value | code | when |', '| --- | --- | --- |');
  for (const [name, value] of Object.entries(errorEnum.values)) out.push(`| ${value} | \`${name}\` | ${oneLine(errorEnum.comments[name])} |`);
  out.push('');
  return out.join('\n');
}

/** docs/protocol.md with a fresh reference. */
export function renderDoc(current = readFileSync(DOC_FILE, 'utf8')) {
  const start = current.indexOf(BEGIN);
  const end = current.indexOf(END);
  if (start < 0 || end < start) throw new Error(`${DOC_FILE} lacks the generated-reference markers`);
  return current.slice(0, start + BEGIN.length) + '\n\n' + renderReference() + '\n' + current.slice(end);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  writeFileSync(DOC_FILE, renderDoc());
  console.log(`wrote ${DOC_FILE}`);
}
