#!/usr/bin/env node
/**
 * Compiles the enclave's NSM binding (enclave/native/nsm.c) into a Node-API
 * addon: one C compiler call, against Node's own `node_api.h`, no node-gyp,
 * no Python, nothing downloaded. enclave.Dockerfile runs exactly this in its
 * build stage; the tests run it into a temporary directory.
 *
 *   node scripts/build-nsm-addon.mjs <out.node> [--include <dir with node_api.h>]
 *
 * The flags make the output depend only on the source, the compiler and the
 * headers (no paths, no timestamps): the same image gives the same addon.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const NSM_SOURCE = join(ROOT, 'enclave/native/nsm.c');

/** Where node_api.h is: given, next to this Node (the node images: /usr/local/include/node), or the distribution's. */
export function nodeIncludeDir(given) {
  const candidates = given ? [given] : [join(dirname(dirname(process.execPath)), 'include', 'node'), '/usr/include/node'];
  const found = candidates.find((dir) => existsSync(join(dir, 'node_api.h')));
  if (!found) throw new Error(`node_api.h not found in ${candidates.join(', ')}`);
  return found;
}

/** Compiles the addon to `out`; returns the compiler's command line. */
export function buildNsmAddon(out, { include } = {}) {
  mkdirSync(dirname(resolve(out)), { recursive: true });
  const args = [
    '-std=c11',
    '-O2',
    '-Wall',
    '-Wextra',
    '-Werror',
    '-fPIC',
    '-shared',
    '-fvisibility=hidden',
    `-ffile-prefix-map=${ROOT}=.`,
    `-I${nodeIncludeDir(include)}`,
    '-o',
    resolve(out),
    NSM_SOURCE,
  ];
  execFileSync('cc', args, { stdio: ['ignore', 'inherit', 'inherit'] });
  return ['cc', ...args];
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const argv = process.argv.slice(2);
  const at = argv.indexOf('--include');
  const include = at >= 0 ? argv.splice(at, 2)[1] : undefined;
  if (argv.length !== 1) {
    console.error('usage: node scripts/build-nsm-addon.mjs <out.node> [--include <dir>]');
    process.exit(2);
  }
  console.log(buildNsmAddon(argv[0], { include }).join(' '));
}
