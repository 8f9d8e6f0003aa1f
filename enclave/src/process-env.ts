/**
 * Environment the enclave process must be started with: read by the C
 * library before any JavaScript runs, so main.cts cannot set it. The Nitro
 * image sets it (enclave.Dockerfile), and so do the local launcher and the
 * benchmark (scripts/); a contract test keeps the image in step.
 *
 * Not MALLOC_ARENA_MAX: glibc's default (8 arenas per core) gives each of the
 * enclave's threads an arena of its own, and that keeps the least memory
 * (docs/performance.md, "ninth look"). Argon2id allocates 19 MiB per PIN
 * stretch on a thread of libuv's pool, which is sized to the vCPUs (main.cts),
 * so the pool's arenas hold 19 MiB per vCPU, reused stretch after stretch. With
 * one arena for every thread (MALLOC_ARENA_MAX=1, the setting until
 * 2026-12-03, chosen when the pool had 4 threads on any core count), what the
 * main thread allocated while a stretch ran sat above it, the freed 19 MiB was
 * split by small allocations, and the next stretch took 19 MiB more: the
 * arena held ≈ 18 MiB free in holes, and RSS after load was 144–147 MiB
 * against 135–139 with an arena per thread.
 *
 * NODE_OPTIONS=--max-semi-space-size=4: V8's young generation grows to
 * 16 MiB semi-spaces by default; the enclave's requests make little garbage
 * that lives. 8 MiB kept RSS after load at 122–160 MiB over six benchmark
 * runs (138–176 MiB without), with no throughput change that stood out of
 * the machine's noise; 4 MiB, with the V8 flags below, 138–139 MiB against
 * 145–146 with 8, the enclave's CPU beyond Argon2id the same (11 % in one
 * window in all six runs; docs/performance.md, "fifteenth look").
 *
 * --max-old-space-size=512: V8 sizes the old generation's next limit as
 * its live size times a growing factor, and allows a factor of up to 4 when
 * the heap's maximum is large, which by default follows the machine's memory
 * (a 24 GiB development machine gets 4). The enclave holds about 24 MiB alive
 * after load, yet its committed heap reached 90 MiB and its RSS 204 MiB under
 * the benchmark's passkey load, and its RSS after the PIN loads fell on one
 * side of its budget or the other from run to run. With a maximum of 512 MiB
 * the factor is 1.3–1.4 (V8 scales it from 1.3 up): RSS 142 MiB after the
 * PIN loads and 155 MiB at most under the passkey load, as with 256
 * (docs/performance.md, "fifteenth look"). It also makes the enclave's heap
 * the same on any machine. Not 256: a review put an honest host's worst case
 * (full caches, every connection's requests in flight with 1 MiB bodies) at
 * 161–218 MiB, above 256 with a larger host connection pool. A heap that
 * reached the maximum would end the process, which the host sees as an
 * enclave down, and nothing stored is lost.
 *
 * --expose-gc: the enclave runs V8's collections itself once it is idle, before
 * it gives free memory back to the system (heap.ts, which takes `gc` off the
 * global object at start so that nothing else can call it).
 *
 * Not MALLOC_MMAP_THRESHOLD_: it returns each stretch's memory to the system
 * (RSS 111 MiB) but then every stretch page-faults 19 MiB of fresh pages,
 * which cost about 20 ms of CPU per signature on the development machine.
 */
export const ENCLAVE_PROCESS_ENV: Readonly<Record<string, string>> = Object.freeze({
  NODE_OPTIONS: '--max-semi-space-size=4 --max-old-space-size=512 --expose-gc',
});

/**
 * V8 flags the image's Node starts the enclave with, on its command line (enclave.Dockerfile's CMD; NODE_OPTIONS
 * refuses V8's own flags). docs/performance.md, "fifteenth look":
 *
 * - The tiering thresholds. V8 optimises a function after about 400 calls (Maglev) and 10 000 (TurboFan; its
 *   listed default of 3 000 applies without Maglev), and
 *   waits 500 calls more after any change of its inline caches. The enclave's request path runs once per
 *   signature, at 50–60 signatures a second per core: it reached Maglev only after ~500 signatures and TurboFan
 *   after minutes of load, and ran slower code until then. At 50 / 300 / 50 it is optimised within seconds.
 * - --single-threaded: V8 compiles and collects on the main thread instead of on its four worker threads. On the
 *   enclave's core they competed with the main thread and the stretch anyway; and with the thresholds lowered,
 *   each worker's glibc arena kept what its compilations freed (13–20 MiB more RSS, over the budget).
 *
 * - --no-flush-bytecode: V8 drops the bytecode of functions it has not seen run for a while, and all of it in the
 *   memory-reducing collection the enclave runs after 30 s idle (heap.ts); the functions then compile again, run
 *   unoptimised and tier up again on the next requests. The enclave's code is small and all of it is in use:
 *   with the flag the median of the 60 signatures after such a collection was 1.3 ms above that after a short
 *   pause (mean of five pairs), against 2.4 without it (docs/performance.md, "thirtieth look").
 *
 * Three benchmark runs each, one after the other: the main thread and V8's helpers beyond Argon2id 11 % of the
 * pool's CPU in one window against 13 %, their CPU at 1 client 2.1 ms against 2.7, RSS after load 145 MiB
 * against 142 (138–139 with the 4-MiB semi-spaces above). These flags are V8's and may change with it: they are given only to the Node the image runs
 * (major 24, any binary of it); `test/contract/nitro.test.ts` checks that it accepts them and applies their
 * values. Measured on one enclave core; the deployment gives the enclave two (nitro/), where V8's parallel
 * scavenges and concurrent marking could have used the second: not measured there.
 */
export const ENCLAVE_V8_FLAGS: readonly string[] = Object.freeze([
  '--single-threaded',
  '--no-flush-bytecode',
  '--invocation-count-for-maglev=50',
  '--invocation-count-for-turbofan=300',
  '--minimum-invocations-after-ic-update=50',
]);

/** The V8 flags for an enclave on a Node of this version (`v24.22.3` or `24.22.3`): those above on the image's major (24), none on another. */
export function enclaveV8Flags(nodeVersion: string): readonly string[] {
  return /^v?24\./.test(nodeVersion.trim()) ? ENCLAVE_V8_FLAGS : [];
}
