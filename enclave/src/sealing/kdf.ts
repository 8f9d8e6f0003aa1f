/**
 * PIN stretching and key separation. The Argon2id cost is compiled into the
 * image (the host cannot lower it): blobs written with other costs are read
 * only within fixed bounds, and every re-seal uses the compiled cost.
 */
import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import { hkdf } from '@noble/hashes/hkdf.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { availableParallelism } from 'node:os';
import { performance } from 'node:perf_hooks';
import { EnclaveWalletError } from '@enclave-wallet/proto';
import { phases } from '../phases.js';
import { SecretBytes } from '../secret.js';

/** The cost every new seal uses (OWASP's Argon2id minimum: 19 MiB, t=2, p=1). */
export const ARGON2_POLICY = Object.freeze({ memoryKiB: 19 * 1024, iterations: 2, parallelism: 1 });
/** Costs accepted when reading a blob: never below the policy, never absurdly high (denial of service). */
export const ARGON2_BOUNDS = Object.freeze({
  min: ARGON2_POLICY,
  max: Object.freeze({ memoryKiB: 256 * 1024, iterations: 10, parallelism: 4 }),
});
export const ARGON2_SALT_BYTES = 16;

/** HKDF `info` of the key that encrypts the seed (from the KMS data key and the stretched PIN). */
export const SEED_KEY_INFO = new TextEncoder().encode('enclave-wallet/seed-key/v1');
/** HKDF `info` of the key that authenticates the failed-attempt state (from the KMS data key alone). */
export const STATE_KEY_INFO = new TextEncoder().encode('enclave-wallet/attempt-state/v1');

export interface Argon2Cost {
  memoryKiB: number;
  iterations: number;
  parallelism: number;
}

export function withinBounds(cost: Argon2Cost): boolean {
  const { min, max } = ARGON2_BOUNDS;
  return (
    cost.memoryKiB >= min.memoryKiB &&
    cost.memoryKiB <= max.memoryKiB &&
    cost.iterations >= min.iterations &&
    cost.iterations <= max.iterations &&
    cost.parallelism >= min.parallelism &&
    cost.parallelism <= max.parallelism
  );
}

/**
 * How many stretches may run at once in this process: its cores now (the
 * affinity, read again at an admission once CORES_READ_MS have passed: an
 * operator or `taskset -p` may move a running enclave to fewer cores, as
 * `npm run bench` models Nitro), never more than libuv's pool has threads
 * (sized at start-up, see main.cts). Two stretches on one core take as long
 * as one after the other, with twice the memory and each answer later.
 */
const POOL_THREADS = Number(process.env.UV_THREADPOOL_SIZE) || 4;
/**
 * On Node 24 (the image's) `availableParallelism()` is four system calls (the affinity, and the cgroup's cpu.max
 * opened, read and closed): 2.3 µs alone, and 1.5 % of the main thread's CPU samples at 32 clients when it was read
 * at every admission, two or three times per stretch (perf, 2026-12-04). A second is soon enough to see lost cores.
 */
const CORES_READ_MS = 1000;
let cores = 0;
let coresReadAt = -Infinity;
export const stretchConcurrency = (): number => {
  const now = performance.now();
  if (now - coresReadAt >= CORES_READ_MS) {
    cores = availableParallelism();
    coresReadAt = now;
  }
  return Math.max(1, Math.min(POOL_THREADS, cores));
};

/**
 * A bounded, fair (first come, first served) queue in front of the native
 * Argon2id, which runs on libuv's thread pool (sized to the enclave's vCPUs
 * at start-up, see main.cts), so the event loop never blocks and no more
 * stretches run at once than there are cores. Past `maxWaiting` queued
 * stretches a new one is refused (ENCLAVE_BUSY, mapped to 503 with a retry
 * time) instead of growing memory without bound.
 */
export class StretchQueue {
  private running = 0;
  private readonly waiting: Array<() => void> = [];
  /**
   * `waiting.length`, kept as a number for the checks each stretch makes: the array starts with V8's elements kind
   * for small integers and changes kind at its first `push`, so code optimised under one load (where the check never
   * read it) was thrown away when another load read it (docs/performance.md, twenty-fifth and twenty-sixth looks).
   */
  private waitingCount = 0;
  private readonly limit: () => number;

  /** `concurrency`: a number, or a function read at each admission (by default, stretchConcurrency). */
  constructor(
    concurrency: number | (() => number) = stretchConcurrency,
    readonly maxWaiting: number = 256,
  ) {
    this.limit = typeof concurrency === 'number' ? () => concurrency : concurrency;
  }

  /** How many may run at once now. */
  get concurrency(): number {
    return this.limit();
  }

  /** Stretches now running and waiting (for metrics). */
  get depth(): { running: number; waiting: number } {
    return { running: this.running, waiting: this.waitingCount };
  }

  async run<T>(task: () => Promise<T>): Promise<T> {
    const queued = performance.now();
    if (this.running >= this.limit() || this.waitingCount > 0) {
      if (this.waitingCount >= this.maxWaiting)
        throw new EnclaveWalletError('RATE_LIMITED', 'the enclave is busy stretching PINs; retry shortly', { retryAfter: 1 });
      const admitted = new Promise<void>((resolve) => {
        this.waiting.push(resolve); // counted in `running` by whoever wakes it
        this.waitingCount++;
      });
      this.admit(); // the limit may have risen since the others queued
      await admitted;
    } else this.running++;
    phases.record('stretch_wait', queued);
    try {
      return await phases.time('stretch', task);
    } finally {
      this.running--;
      this.admit();
    }
  }

  /** Starts waiting stretches, in arrival order, as many as the limit now allows (fewer if the process lost cores). */
  private admit(): void {
    for (let limit = this.limit(); this.waitingCount > 0 && this.running < limit;) {
      this.running++;
      this.waitingCount--;
      this.waiting.shift()!();
    }
  }
}

/** The process-wide queue (one per enclave process: all its stretches share the cores). */
export const stretchQueue = new StretchQueue();

/**
 * argon2's native binding (the package's prebuilt addon), called directly: the package's JavaScript wrapper copies
 * the password with `Buffer.from(password)`, which puts the PIN into Node's shared Buffer pool, where nothing zeroes
 * it. The binding takes our view of the PIN's bytes as they are.
 */
interface Argon2Binding {
  hash(options: {
    password: Buffer;
    salt: Buffer;
    secret: Buffer;
    data: Buffer;
    hashLength: number;
    m: number;
    t: number;
    p: number;
    version: number;
    type: number;
  }): Promise<Buffer>;
}
const argon2Package = createRequire(import.meta.url).resolve('argon2/package.json');
const argon2Native = (createRequire(argon2Package)('node-gyp-build') as (dir: string) => Argon2Binding)(dirname(argon2Package));
/** Argon2 version 1.3 (0x13) and the Argon2id type, as argon2's own wrapper defines them. */
const ARGON2_VERSION = 0x13;
const ARGON2ID = 2;

/** Argon2id(PIN, salt) → 32 bytes, natively, through the queue. The caller disposes of the result. */
export async function stretchPin(pin: Uint8Array, salt: Uint8Array, cost: Argon2Cost, queue: StretchQueue = stretchQueue): Promise<SecretBytes> {
  return queue.run(async () => {
    // A view of the caller's bytes: never copied into Node's shared pool.
    const out = await argon2Native.hash({
      password: Buffer.from(pin.buffer, pin.byteOffset, pin.byteLength),
      salt: Buffer.from(salt),
      secret: Buffer.alloc(0),
      data: Buffer.alloc(0),
      hashLength: 32,
      m: cost.memoryKiB,
      t: cost.iterations,
      p: cost.parallelism,
      version: ARGON2_VERSION,
      type: ARGON2ID,
    });
    return SecretBytes.adopt(out);
  });
}

/** The seed-encryption key: HKDF-SHA256 over the data key and the stretched PIN. */
export function seedKey(dataKey: Uint8Array, stretchedPin: Uint8Array, salt: Uint8Array): SecretBytes {
  using ikm = SecretBytes.alloc(dataKey.length + stretchedPin.length);
  ikm.set(dataKey, 0);
  ikm.set(stretchedPin, dataKey.length);
  return SecretBytes.adopt(hkdf(sha256, ikm, salt, SEED_KEY_INFO, 32));
}

/** The attempt-state MAC key, which needs no PIN so that failures can be recorded. */
export function stateKey(dataKey: Uint8Array): SecretBytes {
  return SecretBytes.adopt(hkdf(sha256, dataKey, new Uint8Array(0), STATE_KEY_INFO, 32));
}
