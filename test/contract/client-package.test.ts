/**
 * The SDK is published on its own: its package names no workspace package, and the modules of proto/ it needs
 * (the HPKE labels, the recovery-code format, the byte helpers, the passkey challenge) are verbatim copies in client/src/proto-copy, so the
 * enclave and the SDK still agree on one definition. After changing any of them in proto/src:
 * `node client/scripts/sync-proto-copy.mjs`.
 * (Packing and installing the SDK in a project of its own: test/e2e/sdk-package.test.ts.)
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const repo = fileURLToPath(new URL('../../', import.meta.url));
const read = (f: string): string => readFileSync(repo + f, 'utf8');

test.each(['bytes.ts', 'labels.ts', 'passkey.ts', 'recovery-code.ts'])('client/src/proto-copy/%s is proto/src/%s, byte for byte', (file) => {
  expect(read(`client/src/proto-copy/${file}`)).toBe(read(`proto/src/${file}`));
});

test('the package can be installed from its tarball: public, no workspace dependency, viem its only peer, types first', () => {
  const pkg = JSON.parse(read('client/package.json')) as {
    private?: boolean;
    dependencies: Record<string, string>;
    peerDependencies: Record<string, string>;
    exports: Record<string, Record<string, string>>;
    files: string[];
  };
  expect(pkg.private).toBeUndefined();
  expect(Object.keys(pkg.dependencies).filter((name) => name.startsWith('@enclave-wallet/'))).toEqual([]);
  expect(Object.keys(pkg.peerDependencies)).toEqual(['viem']);
  expect(Object.keys(pkg.exports['.']!)[0]).toBe('types');
  expect(pkg.files).toContain('dist');
});
