/**
 * Environment the enclave process must be started with: read by the C
 * library before any JavaScript runs, so main.cts cannot set it. The Nitro
 * image sets it (enclave.Dockerfile), and so do the local launcher and the
 * benchmark (scripts/); a contract test keeps the image in step.
 *
 * MALLOC_ARENA_MAX=1: Argon2id allocates 19 MiB per PIN stretch on each
 * thread-pool thread. With glibc's default of up to 8 arenas per core, every
 * thread's arena keeps its freed 19 MiB (and fragments) for good: enclave RSS
 * after load was 187–195 MiB. With one arena the stretches reuse the same
 * memory: 128–170 MiB (`npm run bench`, docs/performance.md). The stretches
 * allocate once each, so the shared arena's lock is never contended.
 *
 * NODE_OPTIONS=--max-semi-space-size=8: V8's young generation grows to
 * 16 MiB semi-spaces by default; the enclave's requests make little garbage
 * that lives, and 8 MiB kept RSS after load at 122–160 MiB over six
 * benchmark runs (138–176 MiB without), with no throughput change that stood
 * out of the machine's noise.
 *
 * Not MALLOC_MMAP_THRESHOLD_: it returns each stretch's memory to the system
 * (RSS 111 MiB) but then every stretch page-faults 19 MiB of fresh pages,
 * which cost about 20 ms of CPU per signature on the development machine.
 */
export const ENCLAVE_PROCESS_ENV: Readonly<Record<string, string>> = Object.freeze({ MALLOC_ARENA_MAX: '1', NODE_OPTIONS: '--max-semi-space-size=8' });
