#!/usr/bin/env node
// The enclave's main thread by part, from Linux `perf` (cpu-clock samples of that one thread, with call chains):
// what `npm run bench -- --profile` uses where perf works.
//
// Why not V8's CPU profiler there: its sampler is a thread of the same process, and in the split the process has
// one core, so the sampler runs only while the main thread does not. Its samples then fall almost all on "(idle)"
// or on a main thread preempted mid-call (2026-12-04: 0.8 % of the samples not idle in a window where /proc gave
// the main thread 9 % of the core), and the shares of the parts are those of the moments the thread was *not*
// running. perf samples the thread from the kernel, only while it runs: each sample stands for its period of CPU.
//
// Naming the JavaScript frames: V8's perf map (/tmp/perf-<pid>.map, `--perf-basic-prof-only-functions`) has a line
// per compilation and none per code freed, so once V8 reuses a code address perf gives every sample there one name of
// those compiled at it (2026-12-06: samples of the HPKE open went to other parts, the envelope read 0.02 ms a signature
// against 0.24 by the jitdump of the same run). V8's jitdump (`--perf-prof`) records when each code object was made,
// and `perf inject --jit` turns it into one small ELF file per compilation: each sample gets the code that was there
// at its time. perfNameFlags picks the jitdump where the enclave's Node can write it into a folder of ours
// (`--perf-prof-path`, not in Node 20's V8), else the map.
//
// Each sample goes to the first part of PARTS (profile-summary.mjs) that a JavaScript frame of its stack belongs
// to; a sample with a frame of V8's garbage collector or of its compilers goes to those first, and one with no part's
// frame to where its leaf is: the kernel, the C library (malloc), the event loop (libuv and Node's native side), or
// V8 and Node otherwise.
// Alone: node scripts/perf-summary.mjs <perf.data> <fromMicros> <toMicros> [signatures]
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PARTS } from './profile-summary.mjs';

/** Samples asked for per second of the thread's CPU (each is counted for the period perf recorded). */
const PERF_HZ = 1999;

/** Whether `perf record` works here as startPerf runs it: installed, and allowed to attach to a thread of ours. */
export function perfAvailable() {
  const args = [
    'record',
    '-q',
    '-k',
    'CLOCK_MONOTONIC',
    '-e',
    'cpu-clock',
    '-F',
    String(PERF_HZ),
    '-g',
    '-t',
    String(process.pid),
    '-o',
    '/dev/null',
    '--',
    'sleep',
    '0.1',
  ];
  return spawnSync('perf', args, { stdio: 'ignore' }).status === 0;
}

/**
 * The flags that name a node's JavaScript frames for perf: V8's jitdump into `dir` (jit-<pid>.dump) where `node`
 * has `--perf-prof-path`, else the perf map in /tmp. Node 24's V8 then also writes its log, by default into the
 * working directory (isolate-…-v8.log): into `dir` instead (Node 20's writes none with the map's flag).
 */
export function perfNameFlags(node, dir) {
  const options = spawnSync(node, ['--v8-options'], { encoding: 'utf8' }).stdout ?? '';
  const log = ['--no-logfile-per-isolate', `--logfile=${join(dir, 'v8.log')}`];
  return options.includes('--perf-prof-path') ? ['--perf-prof', `--perf-prof-path=${dir}`, ...log] : ['--perf-basic-prof-only-functions', ...log];
}

/**
 * `file` with its JavaScript frames named from a jitdump beside it (`perf inject --jit`, into `<file>.jit`; the ELF
 * files it writes, and perf's cache of them, stay in that folder), or `file` itself when there is none.
 */
function withJitNames(file) {
  const dir = join(file, '..');
  if (!readdirSync(dir).some((f) => /^jit-\d+\.dump$/.test(f))) return { readable: file, names: 'map' };
  const out = `${file}.jit`;
  if (!existsSync(out)) {
    const injected = spawnSync('perf', ['--buildid-dir', join(dir, 'buildid'), 'inject', '--jit', '-i', file, '-o', out], { encoding: 'utf8' });
    if (injected.status !== 0)
      throw new Error(`perf inject --jit failed (a perf built without libelf cannot read V8's jitdump): ${(injected.stderr ?? '').trim().slice(0, 300)}`);
  }
  return { readable: out, names: 'jitdump' };
}

/**
 * Starts sampling one thread (`tid`; a process's main thread is its pid) into `file`, on CLOCK_MONOTONIC (the clock
 * of the benchmark's windows). The node process must run with perfNameFlags' flags, so that its JavaScript frames
 * have names. Resolves with a stop function once perf is attached.
 */
export async function startPerf(tid, file) {
  // -N: the binaries' build ids are not copied into ~/.debug (the node binary alone is 120 MB).
  const child = spawn('perf', ['record', '-q', '-N', '-k', 'CLOCK_MONOTONIC', '-e', 'cpu-clock', '-F', String(PERF_HZ), '-g', '-t', String(tid), '-o', file], {
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  await new Promise((resolve) => setTimeout(resolve, 300));
  return () =>
    new Promise((resolve) => {
      if (child.exitCode !== null) return resolve();
      child.once('exit', () => resolve());
      child.kill('SIGINT'); // perf writes its file on SIGINT
    });
}

const GC_FRAME = /v8::internal::(Scavenger|Heap::|MarkCompact|MinorMarkSweep|Sweeper|IncrementalMarking|ConcurrentMarking|GCTracer)/;
/** V8 compiling: Maglev, TurboFan (and Turboshaft), Sparkplug, the bytecode generator and the parser. */
const COMPILER_FRAME =
  /v8::internal::(compiler::|maglev::|turboshaft::|baseline::|interpreter::BytecodeGenerator|Parser|Compiler::|OptimizingCompileDispatcher)/;
const leafPart = (frames) => {
  const leaf = frames[0] ?? { sym: '', dso: '' };
  const all = frames.map((f) => f.sym).join(' ');
  if (leaf.dso.includes('kernel')) return 'the kernel (system calls, scheduling, sockets)';
  if (/libc[.-]/.test(leaf.dso)) return 'the C library (malloc, memcpy)';
  if (/\buv__|uv_run|node::Environment::|node::PerIsolatePlatformData/.test(all)) return 'the event loop (libuv, Node native)';
  return 'V8 and Node otherwise';
};

/**
 * { ms: { part → ms of CPU }, names, readable }: the samples of the thread's `file` between the two CLOCK_MONOTONIC
 * times (µs), each counted for its own period (1/PERF_HZ s unless the kernel lowered the rate:
 * perf_event_max_sample_rate); `names` says what named the JavaScript frames ('jitdump' or 'map'), `readable` is the
 * file `perf report` reads with those names.
 */
export function summarizePerf(file, fromMicros, toMicros) {
  const { readable, names } = withJitNames(file);
  const text = execFileSync(
    'perf',
    ['script', '-i', readable, '--time', `${(fromMicros / 1e6).toFixed(6)},${(toMicros / 1e6).toFixed(6)}`, '-F', 'period,ip,sym,dso'],
    {
      encoding: 'utf8',
      maxBuffer: 1 << 30,
      stdio: ['ignore', 'pipe', 'ignore'],
    },
  );
  const ms = {};
  const add = (part, period) => (ms[part] = (ms[part] ?? 0) + period / 1e6);
  for (const block of text.split(/\n\s*\n/)) {
    const period = Number(/^\s*(\d+)\s*$/m.exec(block)?.[1] ?? 1e9 / PERF_HZ); // ns
    const frames = block
      .split('\n')
      .map((l) => /^\s*[0-9a-f]+ (.*) \((.*)\)$/.exec(l))
      .filter(Boolean)
      .map((m) => ({ sym: m[1], dso: m[2] }));
    if (!frames.length) continue;
    // Garbage collection first, wherever the allocation that started it was.
    if (frames.some((f) => GC_FRAME.test(f.sym))) {
      add('GC (main thread)', period);
      continue;
    }
    // Then V8's compilers (on the main thread with --single-threaded), not the function being compiled.
    if (frames.some((f) => COMPILER_FRAME.test(f.sym))) {
      add('V8 compiling (Maglev, TurboFan, parser)', period);
      continue;
    }
    let best = PARTS.length;
    for (const f of frames) {
      if (!f.sym.startsWith('JS:')) continue;
      const i = PARTS.findIndex(([, re]) => re.test(f.sym));
      if (i >= 0 && i < best) best = i;
    }
    add(PARTS[best]?.[0] ?? leafPart(frames), period);
  }
  return { ms, names, readable };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const [file, from, to, signatures] = process.argv.slice(2);
  const { ms } = summarizePerf(file, Number(from), Number(to));
  for (const [part, total] of Object.entries(ms).sort((a, b) => b[1] - a[1]))
    console.log(`${(total / Number(signatures ?? 1)).toFixed(3).padStart(10)} ms${signatures ? ' per signature' : ''}  ${part}`);
}
