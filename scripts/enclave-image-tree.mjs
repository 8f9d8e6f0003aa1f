#!/usr/bin/env node
/**
 * The enclave image's file tree (/app), made outside Docker exactly as
 * enclave.Dockerfile makes it: the Dockerfile's build stage runs this script
 * and its last stage copies the result, so the two cannot drift, and
 * test/contract/enclave-image.test.ts checks the same tree against an
 * allow-list on a machine without Docker.
 *
 *   node scripts/enclave-image-tree.mjs <out dir> [--vsock-addon <node-vsock built from source>]
 *
 * It needs a built repository (`npx tsc -b enclave`) with node_modules from
 * `npm ci`, and a C compiler (for the enclave's two addons). What goes in:
 *  - package.json files of the root, proto and enclave (module type and entry points);
 *  - proto/dist, proto/generated and enclave/dist: JavaScript only, one file per
 *    source file (no source maps, no declarations, nothing left over from a deleted source);
 *  - enclave/native/nsm.node and heap.node, compiled here from enclave/native/nsm.c and heap.c;
 *  - node_modules: the production dependencies of proto and enclave as the lock
 *    file places them (what `npm ci --omit=dev --workspace proto --workspace enclave`
 *    installs on linux-x64-glibc), minus what is only for building (BUILD_ONLY) or for browsers (BROWSER_ONLY),
 *    with @aws-sdk/credential-provider-node replaced (REPLACED), and pruned
 *    (no source maps, TypeScript sources or declarations, C sources or other platforms’ binaries);
 *  - node-vsock's binary replaced by the one built from source, when given.
 * Every file time is set to 0, so the same commit gives the same layers.
 */
import { cpSync, existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, rmSync, symlinkSync, lutimesSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildAddon } from './build-native.mjs';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
/** The image's platform: what optional platform packages are kept for. */
const TARGET = { os: 'linux', cpu: 'x64', libc: 'glibc' };
/** The workspaces the image runs. */
export const IMAGE_WORKSPACES = ['proto', 'enclave'];
/**
 * Dependencies only needed to build or install a package, never loaded at run
 * time: argon2's install script runs `cross-env … node-gyp-build` (install
 * scripts are off, and its prebuilt binary loads through node-gyp-build), and
 * node-addon-api is C++ headers for compiling argon2.
 */
export const BUILD_ONLY = ['cross-env', 'node-addon-api'];
/**
 * Dependencies of the AWS SDK that only its browser build loads: bowser (the
 * browser user agent, required lazily by that provider alone) and the fetch
 * HTTP handler (the browser runtime configuration). In Node the SDK uses
 * @smithy/node-http-handler and the Node user agent.
 */
export const BROWSER_ONLY = ['bowser', '@smithy/fetch-http-handler'];
/**
 * Packages replaced by a file of ours: the KMS client requires
 * @aws-sdk/credential-provider-node for its default credential chain (files,
 * SSO, a credential_process command, web identity, IMDS, HTTP), which the
 * enclave never uses: its credentials come from the host over vsock
 * (enclave/src/kms/client.ts passes them explicitly). The replacement fails
 * if anything ever asks for the default chain.
 */
export const REPLACED = { '@aws-sdk/credential-provider-node': 'enclave/image/credential-provider-node' };
/** The NSM binding's place in the image (enclave/src/platform/nitro.ts loads it from there). */
export const NSM_ADDON = 'enclave/native/nsm.node';
/** The heap addon's place in the image (enclave/src/heap.ts loads it from there). */
export const HEAP_ADDON = 'enclave/native/heap.node';
export const VSOCK_BINARY = 'node_modules/node-vsock-linux-x64-gnu/node-vsock.linux-x64-gnu.node';

/** Files pruned from every package. */
const PRUNED_FILE = /(\.map|\.[cm]?ts|\.tsbuildinfo|\.c|\.cc|\.cpp|\.h|\.gyp|\.gypi)$/;

const fits = (want, have) => !want || want.includes(have);

/** The lock-file paths of the image's packages: the closure of the workspaces' production dependencies. */
export function imagePackages(lock) {
  const packages = lock.packages;
  const keep = new Map(); // lock path -> entry
  const visit = (from, name, optional) => {
    if (BUILD_ONLY.includes(name) || BROWSER_ONLY.includes(name)) return;
    // Node's resolution over the lock's layout: from/node_modules/name, then each enclosing package's node_modules.
    for (let dir = from; ;) {
      const path = (dir ? `${dir}/` : '') + `node_modules/${name}`;
      if (packages[path]) return add(path, packages[path]);
      if (!dir) break;
      dir = dir.slice(0, Math.max(0, dir.lastIndexOf('node_modules/') - 1));
    }
    if (!optional) throw new Error(`${name} (needed by ${from || 'the root'}) is not in the lock file`);
  };
  const add = (path, entry) => {
    if (keep.has(path)) return;
    if (entry.dev) throw new Error(`${path} is a development package but the image needs it`);
    if (!fits(entry.os, TARGET.os) || !fits(entry.cpu, TARGET.cpu) || !fits(entry.libc, TARGET.libc)) return;
    keep.set(path, entry);
    const name = path.slice(path.lastIndexOf('node_modules/') + 'node_modules/'.length);
    if (REPLACED[name]) return; // its dependencies stay out with it
    if (entry.link) return add(entry.resolved, packages[entry.resolved]);
    for (const dep of Object.keys(entry.dependencies ?? {})) visit(path, dep, false);
    for (const dep of Object.keys(entry.optionalDependencies ?? {})) visit(path, dep, true);
    for (const dep of Object.keys(entry.peerDependencies ?? {})) visit(path, dep, entry.peerDependenciesMeta?.[dep]?.optional === true);
  };
  for (const ws of IMAGE_WORKSPACES) add(ws, packages[ws]);
  return keep;
}

function walk(dir, out = []) {
  for (const entry of readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) walk(path, out);
    else out.push(path);
  }
  return out;
}

/** A workspace's compiled JavaScript: each dist file that has a source file under src/. */
function copyDist(workspace, out) {
  const dist = join(ROOT, workspace, 'dist');
  if (!existsSync(dist)) throw new Error(`${workspace}/dist is missing: run \`npx tsc -b enclave\` first`);
  for (const file of walk(dist)) {
    const rel = relative(dist, file);
    const source = rel.replace(/\.js$/, '.ts').replace(/\.cjs$/, '.cts');
    if (source === rel || !existsSync(join(ROOT, workspace, 'src', source))) continue;
    cpSync(file, join(out, workspace, 'dist', rel));
  }
}

/** A package's files, without its nested node_modules (those are packages of their own) and pruned. */
function copyPackage(from, to, name) {
  for (const file of walk(from)) {
    const rel = relative(from, file);
    if (rel.split('/').includes('node_modules') || PRUNED_FILE.test(rel)) continue;
    // argon2: only this platform's prebuilt binary; its C sources stay out (PRUNED_FILE).
    if (name === 'argon2' && rel.startsWith('prebuilds/') && !rel.startsWith(`prebuilds/${TARGET.os}-${TARGET.cpu}/`)) continue;
    if (name === 'argon2' && (rel.startsWith('argon2/') || (TARGET.libc === 'glibc' && rel.endsWith('.musl.node')))) continue;
    // tiny-secp256k1: the ES module build for Node and its WebAssembly (libsecp256k1); not the CommonJS or browser copies.
    if (name === 'tiny-secp256k1' && (rel.startsWith('lib/cjs/') || rel.includes('.browser.'))) continue;
    cpSync(file, join(to, rel));
  }
}

export function makeImageTree(out, { vsockAddon } = {}) {
  out = resolve(out);
  rmSync(out, { recursive: true, force: true });
  mkdirSync(out, { recursive: true });
  const lock = JSON.parse(readFileSync(join(ROOT, 'package-lock.json'), 'utf8'));
  for (const file of ['package.json', 'package-lock.json', 'proto/package.json', 'enclave/package.json']) cpSync(join(ROOT, file), join(out, file));
  for (const ws of IMAGE_WORKSPACES) copyDist(ws, out);
  for (const file of walk(join(ROOT, 'proto/generated')).filter((f) => f.endsWith('.js'))) cpSync(file, join(out, relative(ROOT, file)));
  buildAddon('nsm', join(out, NSM_ADDON));
  buildAddon('heap', join(out, HEAP_ADDON));

  for (const [path, entry] of imagePackages(lock)) {
    if (!path.startsWith('node_modules/')) continue; // a workspace, copied above
    const target = join(out, path);
    const name = path.slice(path.lastIndexOf('node_modules/') + 'node_modules/'.length);
    if (entry.link) {
      mkdirSync(dirname(target), { recursive: true });
      symlinkSync(relative(dirname(target), join(out, entry.resolved)), target);
    } else if (REPLACED[name]) {
      cpSync(join(ROOT, REPLACED[name]), target, { recursive: true });
    } else {
      if (!existsSync(join(ROOT, path))) throw new Error(`${path} is not installed: run \`npm ci\` first`);
      copyPackage(join(ROOT, path), target, name);
    }
  }
  if (vsockAddon) cpSync(resolve(vsockAddon), join(out, VSOCK_BINARY));

  const stamp = (dir) => {
    for (const entry of readdirSync(dir)) {
      const path = join(dir, entry);
      if (lstatSync(path).isDirectory()) stamp(path);
      lutimesSync(path, 0, 0);
    }
  };
  stamp(out);
  lutimesSync(out, 0, 0);
  return out;
}

/** Every file and link of a tree, relative, sorted. */
export function listTree(dir) {
  const out = [];
  const go = (d) => {
    for (const entry of readdirSync(d, { withFileTypes: true })) {
      const path = join(d, entry.name);
      if (entry.isDirectory()) go(path);
      else out.push(relative(dir, path));
    }
  };
  go(dir);
  return out.sort();
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const argv = process.argv.slice(2);
  const at = argv.indexOf('--vsock-addon');
  const vsockAddon = at >= 0 ? argv.splice(at, 2)[1] : undefined;
  if (argv.length !== 1) {
    console.error('usage: node scripts/enclave-image-tree.mjs <out dir> [--vsock-addon <path>]');
    process.exit(2);
  }
  const out = makeImageTree(argv[0], { vsockAddon });
  console.log(`${out}: ${listTree(out).length} files`);
}
