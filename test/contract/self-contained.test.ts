/**
 * The repository stands alone: no tracked file reads or links outside it
 * (fixtures live in test/fixtures, the contract in docs/).
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = fileURLToPath(new URL('../../', import.meta.url));

test('no tracked file points outside the repository', () => {
  const files = execFileSync('git', ['ls-files'], { cwd: repo, encoding: 'utf8' })
    .split('\n')
    .filter((f) => f && /\.(ts|mjs|js|json|md|sh|yaml|yml|html|css|Dockerfile)$|Dockerfile$|^\.ci\//.test(f) && f !== 'package-lock.json');
  expect(files.length).toBeGreaterThan(100);
  const offenders: string[] = [];
  // Built from parts, so that this file does not match itself.
  const beside = ['sha', 'red'].join('');
  const outside = new RegExp(`\\.\\./${beside}\\b|\\b${beside}/(fixtures|SPEC)`);
  // The folder beside the repository, or a relative path climbing above the repository root from where the file sits.
  for (const f of files) {
    const text = readFileSync(join(repo, f), 'utf8');
    if (outside.test(text)) offenders.push(`${f}: names the folder beside the repository`);
    const depth = f.split('/').length - 1;
    for (const m of text.matchAll(/['"(](\.\.\/(?:\.\.\/)*)/g)) {
      const ups = m[1]!.length / 3;
      if (ups > depth) offenders.push(`${f}: ${m[1]} climbs above the repository`);
    }
  }
  expect(offenders).toEqual([]);
});
