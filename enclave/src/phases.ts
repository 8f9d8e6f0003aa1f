/**
 * Where the enclave's time goes: a running sum of the wall time spent in each
 * phase of a request (PIN envelope, guard, KMS, PIN stretch, seed, signing),
 * reported through `health` (EnclaveStats.phases) as Prometheus summaries by
 * the host's /metrics, and read by `npm run bench` for its breakdown. Only
 * counts and durations: nothing about a request's content.
 */
import { performance } from 'node:perf_hooks';

export type PhaseName =
  | 'envelope' // HPKE open of the PIN envelope and its checks
  | 'guard_read' // reading a wallet's guard record (not cached)
  | 'guard_count' // the conditional write that counts a guess (overlapped with kms and stretch)
  | 'guard_wait' // a guess waiting for a place in the wrong-PIN budget (five others in flight)
  | 'kms' // the data key (cache or KMS Decrypt; overlapped with the stretch)
  | 'stretch_wait' // waiting for a free core in the stretch queue
  | 'stretch' // Argon2id itself
  | 'seed' // BIP-39 seed (PBKDF2) and key derivation
  | 'sign' // the signature itself
  | 'guard_clear' // the guard clearing a right PIN's counted guess (after the answer; not waited for)
  | 'guard_clear_failed'; // clears that failed: the guess stayed counted (the count is what matters)

export class PhaseClock {
  private readonly totals = new Map<PhaseName, { count: number; micros: number }>();

  /** Adds the time since `startedAt` (a `performance.now()` reading) to a phase. */
  record(name: PhaseName, startedAt: number): void {
    const t = this.totals.get(name) ?? { count: 0, micros: 0 };
    t.count += 1;
    t.micros += Math.round((performance.now() - startedAt) * 1000);
    this.totals.set(name, t);
  }

  /** Awaits `work` and adds its duration to a phase, whether it succeeds or not. */
  async time<T>(name: PhaseName, work: () => Promise<T>): Promise<T> {
    const started = performance.now();
    try {
      return await work();
    } finally {
      this.record(name, started);
    }
  }

  /** Runs synchronous `work` and adds its duration to a phase. */
  timeSync<T>(name: PhaseName, work: () => T): T {
    const started = performance.now();
    try {
      return work();
    } finally {
      this.record(name, started);
    }
  }

  snapshot(): Array<{ name: PhaseName; count: number; micros: number }> {
    return [...this.totals].map(([name, t]) => ({ name, ...t }));
  }
}

/** The process's clock (one enclave process, one set of sums). */
export const phases = new PhaseClock();
