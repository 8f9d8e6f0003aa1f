/**
 * Supply chain: no dependency runs an install script (ignore-scripts in
 * .npmrc), and every package in the lock file that has one is named in the
 * reviewed list (`allowScripts` in package.json, docs/dependencies.md), so a
 * new one cannot arrive unnoticed. Versions are pinned exactly.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const repo = fileURLToPath(new URL('../../', import.meta.url));
const read = (f: string): string => readFileSync(repo + f, 'utf8');

test('.npmrc turns install scripts off', () => {
  expect(read('.npmrc')).toMatch(/^ignore-scripts=true$/m);
});

test('every package with an install script is in the reviewed allowScripts list, and nothing else is', () => {
  const lock = JSON.parse(read('package-lock.json')) as { packages: Record<string, { hasInstallScript?: boolean }> };
  const withScripts = new Set(
    Object.entries(lock.packages)
      .filter(([path, p]) => path && p.hasInstallScript)
      .map(([path]) => path.replace(/^.*node_modules\//, '')),
  );
  const reviewed = (JSON.parse(read('package.json')) as { allowScripts: Record<string, boolean> }).allowScripts;
  expect([...withScripts].sort()).toEqual(Object.keys(reviewed).sort());
  const doc = read('docs/dependencies.md');
  for (const name of withScripts) expect(doc).toContain(`\`${name}\``);
});

test('the workspaces pin their dependencies to exact versions', () => {
  for (const ws of ['proto', 'enclave', 'host', 'client', 'cli', 'devtools', '.']) {
    const pkg = JSON.parse(read(`${ws === '.' ? '' : ws + '/'}package.json`)) as Record<string, Record<string, string> | undefined>;
    for (const field of ['dependencies', 'devDependencies', 'optionalDependencies']) {
      for (const [name, version] of Object.entries(pkg[field] ?? {})) {
        expect({ ws, name, version }).toEqual({ ws, name, version: expect.stringMatching(/^\d+\.\d+\.\d+(-[\w.]+)?$/) });
      }
    }
  }
});
