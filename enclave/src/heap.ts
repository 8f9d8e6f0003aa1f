/**
 * Giving memory back to the system once the enclave is idle
 * (docs/performance.md, "thirtieth look").
 *
 * After a load the enclave held memory it no longer used in two places, and
 * its RSS crept up from one load to the next, past its budget on a stack that
 * had served several (139.8, 141.9, 145.9, 147.4 MiB after four sets):
 *  - glibc keeps what the enclave frees for its next allocations: 2–6 MiB free
 *    between live blocks of the main heap and at its top;
 *  - V8 keeps the pages a load made it grow into: its young generation at its
 *    largest (8 MiB), old-generation, code and bytecode pages with little alive
 *    in them (35–40 MiB for ≈ 20 MiB alive).
 *
 * So, when no request has been in flight for a while, in two steps:
 *  1. after IDLE_TRIM_MS: `malloc_trim(0)`, which gives back the free pages of
 *     every glibc arena and the main heap's top (not the other arenas' tops,
 *     where each pool thread's 19 MiB PIN stretch is reused stretch after
 *     stretch: process-env.ts). Under a millisecond, and nothing to pay after.
 *  2. after IDLE_RELEASE_MS (30 s unless ENCLAVE_IDLE_RELEASE_MS says
 *     otherwise): V8's memory-reducing collection (what it runs on a low-memory
 *     notification: it gives back its free pages and shrinks the young
 *     generation), then the trim again: RSS ≈ 110–115 MiB. 35–70 ms of the core,
 *     and the signatures after it pay too: the enclave's main thread spent
 *     1–2 ms more on each of the next 60 (any forced collection did, a plain
 *     full one included), so it waits for a real pause, where that is nobody's
 *     time, never the gaps between the phases of a load.
 * A request that arrives starts the count again; neither step runs while one
 * is in flight. A `health` request (the host's `/readyz` and `/metrics`) is
 * not activity: a probe every few seconds would otherwise keep step 2 from
 * ever running. Each step is reported at debug (`heap_trimmed`).
 *
 * The trim is our own addon, enclave/native/heap.c (one function), compiled in
 * the image's build stage and by `npm run build` where there is a C compiler
 * (scripts/build-native.mjs). The collection needs `--expose-gc`
 * (process-env.ts); this module takes `gc` and clears it from the global
 * object, and run.ts imports it first, so that no module of the enclave's
 * is evaluated while it is there. Without the addon the enclave runs
 * without either step and says so at start.
 */
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { getHeapStatistics } from 'node:v8';

/** Where the image and `npm run build` put the addon (enclave/native/heap.node, next to dist/). */
export const HEAP_ADDON_PATH = fileURLToPath(new URL('../native/heap.node', import.meta.url));

/**
 * Quiet time before step 1: long enough that a client signing one thing after
 * another never waits for it, short enough that it has run before anyone looks
 * at a finished load.
 */
export const IDLE_TRIM_MS = 250;
/** Quiet time before step 2, by default (ENCLAVE_IDLE_RELEASE_MS). */
export const IDLE_RELEASE_MS = 30_000;

/** The longest delay a timer takes (2^31 − 1 ms, about 24.8 days); Node fires a longer one after 1 ms. */
export const IDLE_MAX_MS = 2 ** 31 - 1;

/** ENCLAVE_IDLE_RELEASE_MS: a whole number of milliseconds (digits only) from IDLE_TRIM_MS to IDLE_MAX_MS; `off` for never. */
export function idleReleaseMs(value: string | undefined): number | undefined {
  if (value === undefined || value === '') return IDLE_RELEASE_MS;
  if (value === 'off') return undefined;
  const ms = /^[0-9]{1,10}$/.test(value) ? Number(value) : NaN;
  if (!(ms >= IDLE_TRIM_MS && ms <= IDLE_MAX_MS))
    throw new RangeError(`ENCLAVE_IDLE_RELEASE_MS must be a whole number of milliseconds from ${IDLE_TRIM_MS} to ${IDLE_MAX_MS}, or off`);
  return ms;
}

/** The addon: `trim()` is malloc_trim(0) (false on a C library without it); `supported` says which. */
export interface HeapBinding {
  trim(): boolean;
  readonly supported: boolean;
}

/** The addon, or why there is none (not built, or built for another platform). */
export function loadHeapBinding(path: string = HEAP_ADDON_PATH): { binding: HeapBinding } | { unavailable: string } {
  try {
    const binding = createRequire(import.meta.url)(path) as Partial<HeapBinding>;
    if (typeof binding.trim !== 'function') return { unavailable: `${path} has no trim()` };
    if (!binding.supported) return { unavailable: 'this C library has no malloc_trim' };
    return { binding: binding as HeapBinding };
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    return { unavailable: e.code === 'MODULE_NOT_FOUND' ? `${path} not built (scripts/build-native.mjs)` : e.message.split('\n')[0]! };
  }
}

type ExposedGc = (options?: { type: 'major'; execution: 'sync'; flavor?: 'regular' | 'last-resort' }) => void;

/** V8's `gc`, when the process was started with --expose-gc; taken off the global object here (V8 makes it writable, not deletable). */
const exposedGc = (globalThis as { gc?: ExposedGc }).gc;
if (exposedGc) (globalThis as { gc?: ExposedGc }).gc = undefined;

/**
 * V8's memory-reducing collection (step 2); undefined without --expose-gc. The options form is V8 13's (Node 24, the
 * image's; checked there by `--trace-gc`: "Mark-Compact (reduce)"). V8 11 (Node 20) takes any argument as a request
 * for a young-generation collection, so there, and on V8 12 (not checked), it is the plain full collection.
 */
export type Collect = () => void;
const v8Major = Number(process.versions.v8.split('.')[0]);
export const collect: Collect | undefined =
  exposedGc && (v8Major >= 13 ? (): void => exposedGc({ type: 'major', execution: 'sync', flavor: 'last-resort' }) : (): void => exposedGc());

/** What one step did, for the debug log. */
export interface TrimReport {
  step: 'trim' | 'release';
  rssBeforeMiB: number;
  rssAfterMiB: number;
  gcMs: number;
  trimMs: number;
  /** V8's heap afterwards: the memory it holds, and what is alive in it. */
  v8PhysicalMiB: number;
  v8UsedMiB: number;
}

const mib = (n: number): number => Math.round((n / 1048576) * 100) / 100;
const round = (ms: number): number => Math.round(ms * 100) / 100;

/** Runs one step now (step 2: the collection first, if it can) and measures it. */
export function trimHeap(
  binding: HeapBinding,
  step: TrimReport['step'],
  gc: Collect | null = collect ?? null,
  rss: () => number = () => process.memoryUsage.rss(),
): TrimReport {
  const before = rss();
  let t = performance.now();
  let gcMs = 0;
  if (step === 'release' && gc) {
    gc();
    gcMs = performance.now() - t;
  }
  t = performance.now();
  binding.trim();
  const trimMs = performance.now() - t;
  const v8 = getHeapStatistics();
  return {
    step,
    rssBeforeMiB: mib(before),
    rssAfterMiB: mib(rss()),
    gcMs: round(gcMs),
    trimMs: round(trimMs),
    v8PhysicalMiB: mib(v8.total_physical_size),
    v8UsedMiB: mib(v8.used_heap_size),
  };
}

/** One thing to run once the process has been idle `afterMs`. */
export interface IdleStep {
  afterMs: number;
  run: () => void;
}

/**
 * Runs each step once each time the process goes idle, in order of their
 * quiet times: a step runs when no request has been in flight for its
 * `afterMs`. `busy()` when a request starts (the steps start over), `done()`
 * when it finishes. The timer is unref'd: it never keeps the process up.
 */
export class IdleTask {
  private readonly steps: readonly IdleStep[];
  private inFlight = 0;
  private lastDone = 0;
  /** The next step to run in this idle period. */
  private next = 0;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;

  /** `onError` gets what a step threw (the process goes on). `now`: a clock that never goes back. */
  constructor(
    steps: readonly IdleStep[],
    private readonly onError: (err: unknown) => void,
    private readonly now: () => number = () => performance.now(),
  ) {
    this.steps = [...steps].sort((a, b) => a.afterMs - b.afterMs);
  }

  busy(): void {
    this.inFlight++;
    this.next = 0;
    this.cancel();
  }

  done(): void {
    this.inFlight = Math.max(0, this.inFlight - 1);
    this.lastDone = this.now();
    if (this.inFlight === 0 && this.steps.length > 0) {
      this.cancel();
      this.arm(this.steps[0]!.afterMs);
    }
  }

  /** Stops for good (the server is closing): nothing runs after this. */
  stop(): void {
    this.stopped = true;
    this.cancel();
  }

  private cancel(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
  }

  private arm(ms: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => this.fire(), Math.min(IDLE_MAX_MS, Math.max(0, ms)));
    this.timer.unref();
  }

  private fire(): void {
    this.timer = undefined;
    if (this.stopped || this.inFlight > 0) return; // done() arms again
    const quiet = this.now() - this.lastDone;
    const step = this.steps[this.next];
    if (step === undefined) return;
    if (quiet < step.afterMs) {
      this.arm(step.afterMs - quiet);
      return;
    }
    this.next++;
    try {
      step.run();
    } catch (err) {
      this.onError(err);
    }
    const following = this.steps[this.next];
    if (following !== undefined) this.arm(following.afterMs - (this.now() - this.lastDone));
  }
}
