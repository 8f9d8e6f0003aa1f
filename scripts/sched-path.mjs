#!/usr/bin/env node
// The path of one signature at one client, by the scheduler (docs/performance.md, twenty-fifth look): Linux perf
// records every context switch of every CPU (`perf sched record`) while N signatures go through the SDK one after
// the other, each call's start and end read on the same clock (CLOCK_MONOTONIC); the report gives, per call, the
// segments seen from the enclave's CPU (only the enclave runs there in the split) and each process's CPU.
//
//   ENCLAVE_CPUS=1 RATE_LIMITS=off LOCAL_CHAIN=0 npm start          (another terminal; the banner gives the root)
//   node scripts/sched-path.mjs --root <dev root sha256> [--signatures 200] [--url http://127.0.0.1:8080]
//        [--issuer http://127.0.0.1:9090] [--client-cpu 0] [--keep]
//
// The enclave's CPUs are read from its process (its affinity: ENCLAVE_CPUS), and its Node runs the reference Argon2id.
// Needs `perf` with the scheduler's tracepoints (root here). Nothing of it runs in the tests but the parsing and the
// arithmetic (test/tools/sched-path.test.ts), on a recorded trace's lines.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { allowedCores, cpuList as parseCores } from './cores.mjs';

const SWITCH = /^\[(\d+)\]\s+([\d.]+):\s+sched:sched_switch: prev_comm=.*? prev_pid=(\d+) .*==> next_comm=(.*?) next_pid=(\d+)/;

/**
 * `perf script -F time,cpu,event,trace` of a `perf sched record`: each CPU's runs, { tid, comm, from, to } in
 * nanoseconds, in order (tid 0 is the idle task), and `lost`: the switches whose outgoing thread was not the one the
 * CPU's last switch brought in (a switch missing from the record: lost, or of a task perf does not see from this PID
 * namespace); the run before such a switch is not counted.
 */
export function runsOf(text) {
  const byCpu = new Map();
  const current = new Map();
  let lost = 0;
  for (const line of text.split('\n')) {
    const m = SWITCH.exec(line);
    if (!m) continue;
    const cpu = Number(m[1]);
    const at = Math.round(Number(m[2]) * 1e9);
    const open = current.get(cpu);
    if (open && open.tid !== Number(m[3])) lost++;
    else if (open) {
      if (!byCpu.has(cpu)) byCpu.set(cpu, []);
      byCpu.get(cpu).push({ tid: open.tid, comm: open.comm, from: open.at, to: at });
    }
    current.set(cpu, { tid: Number(m[5]), comm: m[4], at });
  }
  return { byCpu, lost };
}

const overlap = (run, from, to) => Math.max(0, Math.min(to, run.to) - Math.max(from, run.from));
const median = (values) => {
  const v = [...values].sort((a, b) => a - b);
  return v.length ? v[v.length >> 1] : NaN;
};

/**
 * Per call ([start, end] in ns), from the runs of the enclave's CPUs (its threads only), clipped to the call: the
 * pool thread is the one that ran longest in the call (the stretch); the main thread (`mainTid`, the process's pid)
 * sets where the enclave's work begins and ends, so that a short run of another thread (V8's) does not. Segments in
 * ms, which add up to the call: `before` (call start → the main thread runs), `enclaveBefore` (→ the pool thread's
 * first run of 0.5 ms or more), `stretch` (→ the end of its last such run), with `stretchCpu` (the pool thread's CPU
 * in it) and `othersInStretch` (the other threads'), `enclaveAfter` (→ the main thread's last run), `after` (→ the
 * call's end), `call`, and `besideStretch` (the call less the stretch). A call in which no stretch ran is left out. Medians of each segment over the calls (which need
 * not add up to the median call).
 */
export function segmentsOf(enclaveRuns, marks, mainTid) {
  const rows = [];
  for (const [start, end] of marks) {
    const runs = enclaveRuns
      .filter((r) => r.tid !== 0 && r.to > start && r.from < end)
      .map((r) => ({ ...r, from: Math.max(r.from, start), to: Math.min(r.to, end) }));
    const byTid = new Map();
    for (const r of runs) byTid.set(r.tid, (byTid.get(r.tid) ?? 0) + (r.to - r.from));
    const pool = [...byTid].sort((a, b) => b[1] - a[1])[0]?.[0];
    const long = runs.filter((r) => r.tid === pool && r.to - r.from >= 5e5);
    if (!long.length || pool === mainTid) continue;
    const stretchFrom = long[0].from;
    const stretchTo = long[long.length - 1].to;
    const main = runs.filter((r) => r.tid === mainTid);
    const first = Math.min(stretchFrom, ...main.map((r) => r.from));
    const last = Math.max(stretchTo, ...main.filter((r) => r.from >= stretchTo).map((r) => r.to));
    const cpu = (list) => list.reduce((sum, r) => sum + overlap(r, stretchFrom, stretchTo), 0) / 1e6;
    rows.push({
      before: (first - start) / 1e6,
      enclaveBefore: (stretchFrom - first) / 1e6,
      stretch: (stretchTo - stretchFrom) / 1e6,
      stretchCpu: cpu(runs.filter((r) => r.tid === pool)),
      othersInStretch: cpu(runs.filter((r) => r.tid !== pool)),
      enclaveAfter: (last - stretchTo) / 1e6,
      after: (end - last) / 1e6,
      call: (end - start) / 1e6,
      besideStretch: (end - start - (stretchTo - stretchFrom)) / 1e6,
    });
  }
  return { calls: rows.length, medians: Object.fromEntries(Object.keys(rows[0] ?? {}).map((k) => [k, median(rows.map((r) => r[k]))])) };
}

/** Each role's CPU per call in ms (median over the calls), every CPU: `roleOf(tid)` names a thread's process, or undefined. */
export function cpuByRole(byCpu, marks, roleOf) {
  const perCall = marks.map(([start, end]) => {
    const sums = {};
    for (const runs of byCpu.values())
      for (const r of runs) {
        const o = overlap(r, start, end);
        if (!o) continue;
        const role = r.tid === 0 ? 'idle' : (roleOf(r.tid) ?? 'other');
        sums[role] = (sums[role] ?? 0) + o / 1e6;
      }
    return sums;
  });
  const roles = [...new Set(perCall.flatMap(Object.keys))].sort();
  return Object.fromEntries(roles.map((role) => [role, median(perCall.map((s) => s[role] ?? 0))]));
}

const ROLES = [
  [/host\/dist\/main\.js/, 'host'],
  [/enclave\/dist\/main\.cjs/, 'enclave'],
  [/devtools\/dist\/dynamo/, 'dynamodb (stand-in)'],
  [/devtools\/dist\/kms/, 'kms (stand-in)'],
  [/devtools\/dist\/oidc/, 'issuer (stand-in)'],
];

/**
 * The stack's processes now running (their threads outlive the record): tid → role, and the enclave's pid, its CPUs
 * (its affinity, which ENCLAVE_CPUS set) and its Node binary.
 */
function stackNow() {
  const roles = new Map();
  let enclave;
  for (const pid of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    let cmdline;
    try {
      cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ');
    } catch {
      continue;
    }
    const role = ROLES.find(([re]) => re.test(cmdline))?.[1];
    if (!role) continue;
    try {
      if (role === 'enclave' && !enclave) {
        enclave = { pid: Number(pid), cpus: allowedCores(readFileSync(`/proc/${pid}/status`, 'utf8')), node: readlinkSync(`/proc/${pid}/exe`) };
      }
      for (const tid of readdirSync(`/proc/${pid}/task`)) roles.set(Number(tid), role);
    } catch {
      // gone meanwhile
    }
  }
  return { roles, enclave };
}

/** A CPU list as taskset and /proc write it ("1", "1-2", "0,2-3"), a line's end allowed: the launcher's (cores.mjs). */
export const cpuList = (text) => parseCores(text.trim());

/** `--name value`: the value, or `fallback` when the flag is absent; a missing value (or another flag) is refused. */
const arg = (name, fallback) => {
  const i = process.argv.indexOf(`--${name}`);
  if (i < 0) return fallback;
  const value = process.argv[i + 1];
  if (value === undefined || value.startsWith('--')) throw new Error(`--${name} needs a value`);
  return value;
};
const count = (name, fallback) => {
  const n = Number(arg(name, fallback));
  if (!Number.isInteger(n) || n < 1) throw new Error(`--${name} is a whole number of 1 or more`);
  return n;
};

async function loop() {
  const repo = fileURLToPath(new URL('..', import.meta.url));
  const { createClient } = await import(join(repo, 'client/dist/index.js'));
  const url = arg('url', 'http://127.0.0.1:8080');
  const issuer = arg('issuer', 'http://127.0.0.1:9090');
  const n = count('signatures', '200');
  const pin = '582914';
  const client = createClient({ baseUrl: url, root: { sha256: arg('root') } });
  const token = await fetch(`${issuer}/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email: `sched-path-${Date.now()}@example.com` }),
  });
  if (!token.ok) throw new Error(`the dev issuer answered ${token.status}`);
  await client.login((await token.json()).id_token);
  const { walletId } = await client.createWallet(pin);
  for (let i = 0; i < 30; i++) await client.signEvmMessage(walletId, `warm-up ${i}`, { pin });
  await new Promise((resolve) => setTimeout(resolve, 200));
  const marks = [];
  for (let i = 0; i < n; i++) {
    const start = process.hrtime.bigint();
    await client.signEvmMessage(walletId, `signature ${i}`, { pin });
    marks.push([Number(start), Number(process.hrtime.bigint())]);
  }
  const tids = readdirSync('/proc/self/task').map(Number);
  writeFileSync(arg('marks'), JSON.stringify({ tids, marks }));
}

async function main() {
  if (!arg('root')) throw new Error('--root <the dev root sha256 the launcher prints> is required');
  count('signatures', '200');
  const clientCpu = arg('client-cpu', '0');
  if (!/^\d+$/.test(clientCpu)) throw new Error('--client-cpu is one CPU number');
  if (spawnSync('perf', ['--version']).status !== 0) throw new Error('perf is not installed');
  const { enclave } = stackNow();
  if (!enclave) throw new Error('no enclave is running (start the stack: ENCLAVE_CPUS=1 npm start)');
  if (enclave.cpus.includes(Number(clientCpu)))
    throw new Error(
      `the enclave may run on CPU ${clientCpu} (its CPUs: ${enclave.cpus.join(',')}): start the stack with ENCLAVE_CPUS, and the client elsewhere`,
    );
  const dir = mkdtempSync(join(tmpdir(), 'sched-path-'));
  const keep = process.argv.includes('--keep');
  const cleanUp = () => keep || rmSync(dir, { recursive: true, force: true });
  // Ctrl-C ends the record (perf passes it on); the folder goes with it.
  const onSignal = (signal) => {
    cleanUp();
    process.exit(signal === 'SIGINT' ? 130 : 143);
  };
  process.once('SIGINT', onSignal).once('SIGTERM', onSignal);
  try {
    const data = join(dir, 'perf.data');
    const marksFile = join(dir, 'marks.json');
    const passed = ['root', 'url', 'issuer', 'signatures'].flatMap((k) => (arg(k) === undefined ? [] : [`--${k}`, arg(k)]));
    const self = fileURLToPath(import.meta.url);
    // One Argon2id alone on the enclave's CPUs, on its Node (p50 of 21, the argon2 package with the enclave's cost), just
    // before and just after: the reference of issue 24's 1-client target, read next to the calls (the machine's speed
    // moves); as `npm run bench` reads it.
    const alone = () =>
      JSON.parse(
        execFileSync('taskset', ['-c', enclave.cpus.join(','), enclave.node, fileURLToPath(new URL('bench-argon2.mjs', import.meta.url)), '0', '21'], {
          env: { ...process.env, UV_THREADPOOL_SIZE: String(enclave.cpus.length) },
          encoding: 'utf8',
        })
          .trim()
          .split('\n')
          .pop(),
      ).singleP50Ms;
    const aloneBefore = alone();
    const record = spawnSync(
      'perf',
      [
        'sched',
        'record',
        '-k',
        'CLOCK_MONOTONIC',
        '-o',
        data,
        '--',
        'taskset',
        '-c',
        clientCpu,
        process.execPath,
        self,
        '--loop',
        '--marks',
        marksFile,
        ...passed,
      ],
      { stdio: ['ignore', 'inherit', 'inherit'] },
    );
    if (record.status !== 0) throw new Error(`perf sched record ended with ${record.status ?? record.signal}`);
    const aloneAfter = alone();
    const { roles } = stackNow();
    const { tids, marks } = JSON.parse(readFileSync(marksFile, 'utf8'));
    for (const tid of tids) roles.set(tid, 'client (SDK)');
    const text = execFileSync('perf', ['script', '-i', data, '-F', 'time,cpu,event,trace'], {
      encoding: 'utf8',
      maxBuffer: 1 << 30,
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    const { byCpu, lost } = runsOf(text);
    // The enclave's threads only, on all its CPUs: the kernel's own (kworker, migration, rcu) run there too, now and then.
    const enclaveRuns = enclave.cpus.flatMap((cpu) => (byCpu.get(cpu) ?? []).filter((r) => roles.get(r.tid) === 'enclave'));
    const { calls, medians } = segmentsOf(enclaveRuns, marks, enclave.pid);
    if (!calls) throw new Error(`no call had a stretch on the enclave's CPUs (${enclave.cpus.join(',')})`);
    const byRole = cpuByRole(byCpu, marks, (tid) => roles.get(tid));
    const f = (x) => (Number.isFinite(x) ? x.toFixed(2) : '—').padStart(7);
    const where = `through the SDK on CPU ${clientCpu}; the enclave's CPUs ${enclave.cpus.join(',')}`;
    console.log(`the path of a signature at 1 client, by the scheduler (${calls} of ${marks.length} calls ${where}; medians, ms)`);
    if (lost) console.log(`  (${lost} switches did not follow on from the one before: switches missing from the record; the runs before them are left out)`);
    console.log(`  call start → the enclave's main thread runs (the client and the host before)  ${f(medians.before)}`);
    console.log(`  the enclave before the stretch                                                ${f(medians.enclaveBefore)}`);
    console.log(
      `  the stretch (the pool thread's first run to its last)                         ${f(medians.stretch)}   its CPU ${f(medians.stretchCpu).trim()}, the enclave's other threads' ${f(medians.othersInStretch).trim()}`,
    );
    console.log(`  the enclave after the stretch                                                 ${f(medians.enclaveAfter)}`);
    console.log(`  the main thread's last run → call end (the host and the client after)         ${f(medians.after)}`);
    console.log(`  the call                                                                      ${f(medians.call)}`);
    console.log(`  the call less its stretch (all but the stretch, call by call)                 ${f(medians.besideStretch)}`);
    const reference = (aloneBefore + aloneAfter) / 2;
    console.log(
      `  one Argon2id alone on the enclave's CPUs (p50 of 21, before and after)        ${f(reference)}   (${f(aloneBefore).trim()}, ${f(aloneAfter).trim()})`,
    );
    console.log(
      `  every call's p50 less it (issue 24: ≤ 3 ms)                                   ${f(median(marks.map(([a, b]) => (b - a) / 1e6)) - reference)}`,
    );
    console.log('CPU per call, by process (every CPU, idle summed over them; medians, ms):');
    for (const [role, ms] of Object.entries(byRole)) console.log(`  ${role.padEnd(75)} ${f(ms)}`);
    if (keep) console.log(`perf data and marks kept in ${dir}`);
  } finally {
    cleanUp();
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  // The loop ends its process once its marks are written (the SDK's kept-alive connections would hold it 4 s more).
  (process.argv.includes('--loop') ? loop().then(() => process.exit(0)) : main()).catch((err) => {
    console.error(err instanceof Error ? err.message : err);
    process.exit(1);
  });
}
