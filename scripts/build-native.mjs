#!/usr/bin/env node
/**
 * Compiles the enclave's own C addons (enclave/native/*.c) into Node-API
 * addons: one C compiler call each, against Node's own `node_api.h`, no
 * node-gyp, no Python, nothing downloaded.
 *
 *   nsm   enclave/native/nsm.c, the binding to the Nitro Secure Module (loaded only in nitro mode)
 *   heap  enclave/native/heap.c, malloc_trim when the enclave is idle (enclave/src/heap.ts)
 *
 * enclave.Dockerfile builds both in its build stage (scripts/enclave-image-tree.mjs);
 * the tests build them into temporary directories.
 *
 *   node scripts/build-native.mjs <nsm|heap> <out.node> [--include <dir with node_api.h>]
 *   node scripts/build-native.mjs --local
 *
 * `--local` (run by `npm run build`) builds the heap addon into enclave/native/heap.node for the
 * enclave that `npm start` runs here. Where there is no C compiler or no node_api.h it says so and
 * succeeds: the enclave then runs without it (it logs `heap_trim_unavailable`) and keeps more memory
 * after a load (docs/performance.md, "thirtieth look").
 *
 * The flags make the output depend only on the source, the compiler and the
 * headers (no paths, no timestamps): the same image gives the same addon.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, renameSync, rmSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const NATIVE_SOURCES = Object.freeze({ nsm: join(ROOT, 'enclave/native/nsm.c'), heap: join(ROOT, 'enclave/native/heap.c') });
/** Where `--local` puts the heap addon, and where the enclave looks for it (enclave/src/heap.ts). */
export const LOCAL_HEAP_ADDON = join(ROOT, 'enclave/native/heap.node');

/** Where node_api.h is: given, next to this Node (the node images: /usr/local/include/node), or the distribution's. */
export function nodeIncludeDir(given) {
  const candidates = given ? [given] : [join(dirname(dirname(process.execPath)), 'include', 'node'), '/usr/include/node'];
  const found = candidates.find((dir) => existsSync(join(dir, 'node_api.h')));
  if (!found) throw new Error(`node_api.h not found in ${candidates.join(', ')}`);
  return found;
}

/** Compiles the addon `name` (a key of NATIVE_SOURCES) to `out`; returns the compiler's command line. */
export function buildAddon(name, out, { include, stdio = ['ignore', 'inherit', 'inherit'] } = {}) {
  const source = NATIVE_SOURCES[name];
  if (!source) throw new Error(`no addon named ${name} (${Object.keys(NATIVE_SOURCES).join(', ')})`);
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
    source,
  ];
  execFileSync('cc', args, { stdio, timeout: 120_000 });
  return ['cc', ...args];
}

/** `--local`: the heap addon for this machine, or a line saying why not; never fails the build. */
export function buildLocalHeapAddon(log = console.log) {
  const partial = `${LOCAL_HEAP_ADDON}.partial`;
  try {
    buildAddon('heap', partial, { stdio: ['ignore', 'ignore', 'pipe'] });
    renameSync(partial, LOCAL_HEAP_ADDON); // a running enclave keeps the file it loaded
    return true;
  } catch (err) {
    rmSync(partial, { force: true });
    rmSync(LOCAL_HEAP_ADDON, { force: true }); // an older build would be loaded, from an older source
    const why =
      err.code === 'ENOENT'
        ? 'no C compiler (cc) on this machine'
        : String(err.stderr || err.message)
            .trim()
            .split('\n')[0];
    log(`enclave/native/heap.node not built (${why}): the local enclave runs without malloc_trim and keeps more memory after a load`);
    return false;
  }
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const argv = process.argv.slice(2);
  if (argv.length === 1 && argv[0] === '--local') {
    buildLocalHeapAddon();
    process.exit(0);
  }
  const at = argv.indexOf('--include');
  const include = at >= 0 ? argv.splice(at, 2)[1] : undefined;
  if (argv.length !== 2 || !NATIVE_SOURCES[argv[0]]) {
    console.error('usage: node scripts/build-native.mjs <nsm|heap> <out.node> [--include <dir>] | --local');
    process.exit(2);
  }
  console.log(buildAddon(argv[0], argv[1], { include }).join(' '));
}
