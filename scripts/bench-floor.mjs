/**
 * An extra section of scripts/bench.mjs (docs/performance.md, twenty-sixth look): the floor of the 1-client target on
 * these cores. scripts/path-floor.mjs is a request path of the stack's shape that does nothing but the stretch (an
 * HTTP server, a frame over TCP to a second process on the enclave's cores and Node, one Argon2id on its pool, the
 * answer back); its p50 at one client, less one Argon2id alone measured just before and after (the target's
 * reference), is what the path's shape takes of the target's 3 ms. Its calls alternate, ten by ten, with the stack's
 * (the benchmark's own 1-client signature, on wallet 1), so that the machine's speed, which moves by more than the
 * target's margin within seconds, moves both alike: the stack's p50 less the floor's is what the stack's own work adds.
 * Not a target: a reading of the machine, as the bare server is for `/healthz`.
 */
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { http } from './http-client.mjs';
import { freePort } from './ports.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const script = join(root, 'scripts/path-floor.mjs');
const WARM_CALLS = 30;
/** Calls of one path in a row before the other's (see the loop below). */
const BLOCK = 10;
/** A role of path-floor.mjs that has not said it listens within this fails the section. */
const START_TIMEOUT_MS = 30_000;
const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];

/** A thread's CPU time so far, in ms (its schedstat: nanoseconds on a CPU); undefined if it cannot be read. */
function threadCpuMs(pid, tid) {
  try {
    return Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ')[0]) / 1e6;
  } catch {
    return undefined;
  }
}
/**
 * A process's CPU so far, in ms: its main thread's and all its threads' (a thread that ended meanwhile counts 0). NaN
 * where the kernel keeps no schedstat (no /proc, or built without it): the rows then say so rather than read 0.
 */
function processCpuMs(pid) {
  const main = threadCpuMs(pid, pid);
  if (main === undefined) return { main: NaN, all: NaN };
  let all = 0;
  for (const tid of readdirSync(`/proc/${pid}/task`)) all += threadCpuMs(pid, tid) ?? 0;
  return { main, all };
}

/** Starts one of path-floor.mjs's roles into `children`; resolves once it listens (within START_TIMEOUT_MS). */
function start(stack, children, command, args, env) {
  const role = args.includes('host') ? 'host' : 'enclave';
  const child = spawn(command, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'inherit'] });
  child.role = 'floor';
  children.push(child);
  stack.children.push(child); // stopped with the stack if the benchmark is stopped meanwhile
  return new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`path-floor.mjs ${role} did not listen within ${START_TIMEOUT_MS / 1000} s`)), START_TIMEOUT_MS);
    child.stdout.on('data', (d) => {
      out += d;
      if (/^listening \d+$/m.test(out)) {
        clearTimeout(timer);
        resolve(child);
      }
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`path-floor.mjs ${role} ended (${code ?? signal})`));
    });
  });
}

/**
 * `floor`: `enclaveCommand(args)` (the command line that runs a script as the enclave runs: its Node, V8 and Node
 * flags, cores and scheduling), `enclaveEnv` (the environment the enclave gets beside the run's), `enclaveCores`,
 * `hostFlags` (the host's Node flags), `prepare(n)` (seals n envelopes ahead for `signOne`), `signOne()` (one of the
 * benchmark's 1-client signatures: its ms; throws if it failed), `argon2Reference()` (one Argon2id alone on the
 * enclave's cores, p50 of 21, as the 1-client target's reference), `signatures` (calls of each path).
 */
export async function bench({ stack, floor }) {
  const enclavePort = await freePort();
  const hostPort = await freePort();
  const children = [];
  try {
    const [command, args] = floor.enclaveCommand([script, 'enclave', String(enclavePort)]);
    const enclave = await start(stack, children, command, args, { ...floor.enclaveEnv, UV_THREADPOOL_SIZE: String(floor.enclaveCores) });
    // The host's Node (this process's: the benchmark runs on it) and flags, on the other cores (this process's affinity).
    const host = await start(stack, children, process.execPath, [...floor.hostFlags, script, 'host', String(hostPort), String(enclavePort)], {});
    // A side that ends fails the call under way at once (path-floor.mjs's HTTP server ends when its enclave side does).
    const ended = new Promise((_, reject) => {
      for (const child of children)
        child.once('exit', (code, signal) => reject(new Error(`the floor's ${child === host ? 'HTTP server' : 'enclave side'} ended (${code ?? signal})`)));
    });
    ended.catch(() => {});
    const url = `http://127.0.0.1:${hostPort}/v1/wallets/floor/sign`;
    let sent = 0;
    const floorCall = async () => {
      // As the benchmark's signatures: a body made before the clock, node:http on a kept-alive connection.
      const body = JSON.stringify({ network: 'evm', kind: 'message', message: 'bench', pinEnvelope: `floor-${process.pid}-${++sent}`.padEnd(220, '.') });
      const t = performance.now();
      const res = await Promise.race([http(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body }), ended]);
      const ms = performance.now() - t;
      if (res.status !== 200) throw new Error(`the floor's path answered ${res.status}`);
      return ms;
    };
    // The stack's signatures get envelopes sealed now (as the 1-client phase's were before the load), not on the fly
    // on the host's cores just before each call, which the floor's calls have nothing like.
    await floor.prepare(5 + floor.signatures);
    for (let i = 0; i < WARM_CALLS; i++) await floorCall();
    for (let i = 0; i < 5; i++) await floor.signOne();
    const before = floor.argon2Reference();
    const floorMs = [];
    const stackMs = [];
    let floorCpu = { host: 0, enclaveMain: 0, enclave: 0 };
    // In blocks of BLOCK calls, the floor's and the stack's in turn (the floor first in the first block, the stack in
    // the second, and so on; with an odd number of blocks the floor goes first once more): within a block each path
    // runs as it does in a row (call after call, the caches its own), and the blocks are close enough that the
    // machine's speed moves both alike. (Calls alternated one by one made each path slower by the other's misses: 3 ms
    // more for the stack.) The floor's CPU is read around each of its blocks, so its last answer's bookkeeping after
    // the client has it (a few µs a block) is left out.
    for (let done = 0; done < floor.signatures; done += BLOCK) {
      const calls = Math.min(BLOCK, floor.signatures - done);
      const order = (done / BLOCK) % 2 ? ['stack', 'floor'] : ['floor', 'stack'];
      for (const path of order) {
        if (path === 'floor') {
          const h0 = processCpuMs(host.pid);
          const e0 = processCpuMs(enclave.pid);
          for (let i = 0; i < calls; i++) floorMs.push(await floorCall());
          const h1 = processCpuMs(host.pid);
          const e1 = processCpuMs(enclave.pid);
          floorCpu = {
            host: floorCpu.host + h1.all - h0.all,
            enclaveMain: floorCpu.enclaveMain + e1.main - e0.main,
            enclave: floorCpu.enclave + e1.all - e0.all,
          };
        } else for (let i = 0; i < calls; i++) stackMs.push(await floor.signOne());
      }
    }
    const after = floor.argon2Reference();
    const reference = (before + after) / 2;
    const perCall = (x) => x / floorMs.length;
    const json = {
      calls: floorMs.length,
      argon2Before: before,
      argon2After: after,
      floorP50: median(floorMs),
      floorOverArgon2Ms: median(floorMs) - reference,
      stackP50: median(stackMs),
      stackOverArgon2Ms: median(stackMs) - reference,
      stackOverFloorMs: median(stackMs) - median(floorMs),
      floorCpuPerCall: { host: perCall(floorCpu.host), enclaveMain: perCall(floorCpu.enclaveMain), enclave: perCall(floorCpu.enclave) },
      floorMs,
      stackMs,
    };
    const f = (x) => x.toFixed(2);
    return {
      rows: [
        [
          `the floor's path, 1 client, p50 (${json.calls} calls)`,
          `${f(json.floorP50)} ms`,
          `node:http → node:http → TCP → Argon2id on the pool, and back; nothing else (scripts/path-floor.mjs)`,
        ],
        [
          '  less one Argon2id alone (the 1-client target’s reference)',
          `+ ${f(json.floorOverArgon2Ms)} ms`,
          `of the target's 3 ms; alone ${f(before)} before, ${f(after)} after`,
        ],
        [
          '  its CPU per call: HTTP server / enclave-side main thread',
          `${f(json.floorCpuPerCall.host)} / ${f(json.floorCpuPerCall.enclaveMain)} ms`,
          'the stack’s host and enclave main thread: the 1-client rows above',
        ],
        ['the stack, its calls ten by ten in turn with the floor’s, p50', `${f(json.stackP50)} ms`, 'the benchmark’s 1-client signature'],
        ['  less the floor’s p50', `+ ${f(json.stackOverFloorMs)} ms`, 'what the stack’s own work adds to the path'],
      ],
      json,
    };
  } finally {
    for (const child of children) {
      child.kill('SIGTERM');
      const i = stack.children.indexOf(child);
      if (i >= 0) stack.children.splice(i, 1);
    }
  }
}
