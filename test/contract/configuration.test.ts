/**
 * docs/configuration.md cannot drift from the code: for each process, the
 * environment variables its code reads are exactly the ones its section
 * lists.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = fileURLToPath(new URL('../../', import.meta.url));
const doc = readFileSync(join(repo, 'docs/configuration.md'), 'utf8');

function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    return statSync(p).isDirectory() ? filesUnder(p) : /\.(ts|cts|mjs)$/.test(f) ? [p] : [];
  });
}

/** Variables the code reads: env.NAME, process.env.NAME. */
function readIn(dir: string): Set<string> {
  const names = new Set<string>();
  for (const f of filesUnder(join(repo, dir))) for (const m of readFileSync(f, 'utf8').matchAll(/\benv\.([A-Z][A-Z0-9_]+)/g)) names.add(m[1]!);
  return names;
}

/** Variables a section's table lists (backticked names in its first column). */
function listed(section: string): Set<string> {
  const start = doc.indexOf(`\n## ${section}\n`);
  expect(start).toBeGreaterThan(0);
  const end = doc.indexOf('\n## ', start + 1);
  const names = new Set<string>();
  for (const row of doc
    .slice(start, end === -1 ? undefined : end)
    .split('\n')
    .filter((l) => l.startsWith('| `'))) {
    for (const m of row.split('|')[1]!.matchAll(/`([A-Z][A-Z0-9_]+)`/g)) names.add(m[1]!);
  }
  return names;
}

test.each([
  ['Host', 'host/src'],
  ['Enclave', 'enclave/src'],
  ['Development tools', 'devtools/src'],
  ['Scripts', 'scripts'],
])('section %s lists exactly the variables %s reads', (section, dir) => {
  expect([...listed(section)].sort()).toEqual([...readIn(dir)].sort());
});
