#!/usr/bin/env node
// The Argon2id ceiling of this machine: the `argon2` package (the enclave's native Argon2id) with the
// enclave's compiled-in cost, one stretch per core at a time, for a fixed time. Run as its own process
// (its thread pool sized to the cores), so nothing else shares it; `npm run bench` runs it on the enclave's cores
// (taskset). Prints one JSON line: the latency of one stretch, stretches per second, and the CPU one stretch
// costs (this process's CPU over the stretches: on a machine where other work shares the cores, the wall-clock
// rate falls with it, the CPU per stretch much less).
//   node scripts/bench-argon2.mjs [SECONDS [SINGLES]]   (SECONDS 0: only the SINGLES stretches one at a time, default 10)
import argon2 from 'argon2';
import { randomBytes } from 'node:crypto';
import { availableParallelism } from 'node:os';
import { performance } from 'node:perf_hooks';

const { ARGON2_POLICY } = await import('../enclave/dist/sealing/kdf.js');
const seconds = Number(process.argv[2] ?? '5');
const singles = Number(process.argv[3] ?? '10');
const cores = availableParallelism();
const opts = () => ({
  type: argon2.argon2id,
  raw: true,
  salt: randomBytes(16),
  memoryCost: ARGON2_POLICY.memoryKiB,
  timeCost: ARGON2_POLICY.iterations,
  parallelism: ARGON2_POLICY.parallelism,
  hashLength: 32,
});

// One at a time: the latency of one stretch.
const single = [];
for (let i = 0; i < singles; i++) {
  const t = performance.now();
  await argon2.hash('493817', opts());
  single.push(performance.now() - t);
}
single.sort((a, b) => a - b);

// Every core busy: the throughput ceiling.
let done = 0;
const cpu0 = process.cpuUsage();
const end = performance.now() + seconds * 1000;
const t0 = performance.now();
await Promise.all(
  Array.from({ length: cores }, async () => {
    while (performance.now() < end) {
      await argon2.hash('493817', opts());
      done++;
    }
  }),
);
const elapsed = (performance.now() - t0) / 1000;
const cpu = process.cpuUsage(cpu0);
console.log(
  JSON.stringify({
    cores,
    memoryKiB: ARGON2_POLICY.memoryKiB,
    iterations: ARGON2_POLICY.iterations,
    singleP50Ms: single[Math.floor(single.length / 2)],
    perSecond: done ? done / elapsed : NaN,
    cpuMsPerStretch: done ? (cpu.user + cpu.system) / 1000 / done : NaN,
  }),
);
