#!/usr/bin/env node
// The path of one signature at one client, by the scheduler (docs/performance.md, twenty-fifth look): Linux perf
// records every context switch of every CPU (`perf sched record`) while N signatures go through the SDK one after
// the other, each call's start and end read on the same clock (CLOCK_MONOTONIC); the report gives, per call, the
// segments seen from the enclave's CPU (only the enclave runs there in the split) and each process's CPU.
//
//   ENCLAVE_CPUS=1 RATE_LIMITS=off LOCAL_CHAIN=0 npm start          (another terminal; the banner gives the root)
//   node scripts/sched-path.mjs --root <dev root sha256> [--signatures 200] [--url http://127.0.0.1:8080]
//        [--issuer http://127.0.0.1:9090] [--client-cpu 0] [--enclave-cpu <the last CPU>] [--keep]
//
// Needs `perf` with the scheduler's tracepoints (root here). Nothing of it runs in the tests but the parsing and the
// arithmetic (test/tools/sched-path.test.ts), on a recorded trace's lines.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const SWITCH = /^\[(\d+)\]\s+([\d.]+):\s+sched:sched_switch: prev_comm=.*? prev_pid=(\d+) .*==> next_comm=(.*?) next_pid=(\d+)/;

/**
 * `perf script -F time,cpu,event,trace` of a `perf sched record`: each CPU's runs, { tid, comm, from, to } in
 * nanoseconds, in order (tid 0 is the idle task).
 */
export function runsOf(text) {
  const byCpu = new Map();
  const current = new Map();
  for (const line of text.split('\n')) {
    const m = SWITCH.exec(line);
    if (!m) continue;
    const cpu = Number(m[1]);
    const at = Math.round(Number(m[2]) * 1e9);
    const open = current.get(cpu);
    if (open) {
      if (!byCpu.has(cpu)) byCpu.set(cpu, []);
      byCpu.get(cpu).push({ tid: open.tid, comm: open.comm, from: open.at, to: at });
    }
    current.set(cpu, { tid: Number(m[5]), comm: m[4], at });
  }
  return byCpu;
}

const overlap = (run, from, to) => Math.max(0, Math.min(to, run.to) - Math.max(from, run.from));
const median = (values) => {
  const v = [...values].sort((a, b) => a - b);
  return v.length ? v[v.length >> 1] : NaN;
};

/**
 * Per call ([start, end] in ns), from the enclave CPU's runs: the pool thread is the one that ran longest in the call
 * (the stretch), the other threads are the rest of the enclave. Segments in ms: `before` (call start → the enclave
 * runs), `enclaveBefore` (→ the pool thread's first run of 0.5 ms or more), `stretch` (→ the end of its last such
 * run), with `stretchCpu` (the pool thread's CPU in it) and `mainInStretch` (the other threads'), `enclaveAfter`
 * (→ the enclave's last run), `after` (→ the call's end), `call`. A call in which the enclave's CPU saw no stretch
 * is left out.
 */
export function segmentsOf(enclaveRuns, marks) {
  const rows = [];
  for (const [start, end] of marks) {
    const runs = enclaveRuns.filter((r) => r.tid !== 0 && r.to > start && r.from < end);
    const byTid = new Map();
    for (const r of runs) byTid.set(r.tid, (byTid.get(r.tid) ?? 0) + overlap(r, start, end));
    const pool = [...byTid].sort((a, b) => b[1] - a[1])[0]?.[0];
    const long = runs.filter((r) => r.tid === pool && r.to - r.from >= 5e5);
    if (!long.length) continue;
    const stretchFrom = long[0].from;
    const stretchTo = long[long.length - 1].to;
    const others = runs.filter((r) => r.tid !== pool);
    const first = Math.max(start, Math.min(stretchFrom, ...others.map((r) => r.from)));
    const last = Math.min(end, Math.max(stretchTo, ...others.filter((r) => r.from >= stretchTo).map((r) => r.to)));
    const cpu = (list, from, to) => list.reduce((sum, r) => sum + overlap(r, from, to), 0) / 1e6;
    rows.push({
      before: (first - start) / 1e6,
      enclaveBefore: (stretchFrom - first) / 1e6,
      stretch: (stretchTo - stretchFrom) / 1e6,
      stretchCpu: cpu(
        runs.filter((r) => r.tid === pool),
        stretchFrom,
        stretchTo,
      ),
      mainInStretch: cpu(others, stretchFrom, stretchTo),
      enclaveAfter: (last - stretchTo) / 1e6,
      after: (end - last) / 1e6,
      call: (end - start) / 1e6,
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

/** tid → role, for the stack's processes now running (their threads outlive the record). */
function stackThreads() {
  const roles = new Map();
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
      for (const tid of readdirSync(`/proc/${pid}/task`)) roles.set(Number(tid), role);
    } catch {
      // gone meanwhile
    }
  }
  return roles;
}

const arg = (name, fallback) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : fallback;
};

/** The signatures, in the client's own process (started by main under perf). */
async function loop() {
  const repo = fileURLToPath(new URL('..', import.meta.url));
  const { createClient } = await import(join(repo, 'client/dist/index.js'));
  const url = arg('url', 'http://127.0.0.1:8080');
  const issuer = arg('issuer', 'http://127.0.0.1:9090');
  const n = Number(arg('signatures', '200'));
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
  if (spawnSync('perf', ['--version']).status !== 0) throw new Error('perf is not installed');
  const dir = mkdtempSync(join(tmpdir(), 'sched-path-'));
  try {
    const data = join(dir, 'perf.data');
    const marksFile = join(dir, 'marks.json');
    const clientCpu = arg('client-cpu', '0');
    const enclaveCpu = Number(arg('enclave-cpu', String(availableParallelism() - 1)));
    const passed = ['root', 'url', 'issuer', 'signatures'].flatMap((k) => (arg(k) === undefined ? [] : [`--${k}`, arg(k)]));
    const self = fileURLToPath(import.meta.url);
    // One Argon2id alone on the enclave's CPU (p50 of 21, the argon2 package with the enclave's cost), just before and
    // just after: the reference of issue 24's 1-client target, read next to the calls (the machine's speed moves).
    const alone = () =>
      JSON.parse(
        execFileSync('taskset', ['-c', String(enclaveCpu), process.execPath, fileURLToPath(new URL('bench-argon2.mjs', import.meta.url)), '0', '21'], {
          env: { ...process.env, UV_THREADPOOL_SIZE: '1' },
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
    const roles = stackThreads();
    const { tids, marks } = JSON.parse(readFileSync(marksFile, 'utf8'));
    for (const tid of tids) roles.set(tid, 'client (SDK)');
    const text = execFileSync('perf', ['script', '-i', data, '-F', 'time,cpu,event,trace'], {
      encoding: 'utf8',
      maxBuffer: 1 << 30,
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    const byCpu = runsOf(text);
    // The enclave's threads only: the kernel's own (kworker, migration, rcu) run on that CPU too, now and then.
    const { calls, medians } = segmentsOf(
      (byCpu.get(enclaveCpu) ?? []).filter((r) => roles.get(r.tid) === 'enclave'),
      marks,
    );
    const byRole = cpuByRole(byCpu, marks, (tid) => roles.get(tid));
    const f = (x) => (Number.isFinite(x) ? x.toFixed(2) : '—').padStart(7);
    console.log(
      `the path of a signature at 1 client, by the scheduler (${calls} of ${marks.length} calls through the SDK on CPU ${clientCpu}; the enclave's CPU ${enclaveCpu}; medians, ms)`,
    );
    console.log(`  call start → the enclave runs (the client and the host before)   ${f(medians.before)}`);
    console.log(`  the enclave before the stretch                                   ${f(medians.enclaveBefore)}`);
    console.log(
      `  the stretch (the pool thread's first run to its last)            ${f(medians.stretch)}   its CPU ${f(medians.stretchCpu).trim()}, the enclave's other threads ${f(medians.mainInStretch).trim()}`,
    );
    console.log(`  the enclave after the stretch                                    ${f(medians.enclaveAfter)}`);
    console.log(`  the enclave's last run → call end (the host and the client after) ${f(medians.after)}`);
    console.log(`  the call                                                         ${f(medians.call)}`);
    const reference = (aloneBefore + aloneAfter) / 2;
    console.log(
      `  one Argon2id alone on CPU ${enclaveCpu} (p50 of 21, before and after)            ${f(reference)}   (${f(aloneBefore).trim()}, ${f(aloneAfter).trim()})`,
    );
    console.log(`  the calls' p50 less it (issue 24: ≤ 3 ms)                         ${f(median(marks.map(([a, b]) => (b - a) / 1e6)) - reference)}`);
    console.log('CPU per call, by process (every CPU, idle summed over them; medians, ms):');
    for (const [role, ms] of Object.entries(byRole)) console.log(`  ${role.padEnd(62)} ${f(ms)}`);
    if (process.argv.includes('--keep')) console.log(`perf data and marks kept in ${dir}`);
  } finally {
    if (!process.argv.includes('--keep')) rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  (process.argv.includes('--loop') ? loop() : main()).catch((err) => {
    console.error(err instanceof Error ? err.message : err);
    process.exit(1);
  });
}
