/**
 * The enclave process (started by main.cts). Configuration from the environment
 * (see config.ts): ENCLAVE_PLATFORM (simulated | nitro), ENCLAVE_LISTEN,
 * ENCLAVE_DEV_CA_DIR, ENCLAVE_KMS_KEY_ID, LOG_LEVEL.
 */
// First: heap.ts takes V8's `gc` off the global object before any other module of the enclave is evaluated.
import { IDLE_TRIM_MS, idleReleaseMs, loadHeapBinding, trimHeap } from './heap.js';
import { availableParallelism } from 'node:os';
import { loadStartupConfig } from './config.js';
import { createLogger } from './log.js';
import { createEnclaveService, startEnclaveServer } from './server.js';

const level = process.env.LOG_LEVEL;
const logger = createLogger(level === 'debug' || level === 'warn' || level === 'error' ? level : 'info');

try {
  const startup = loadStartupConfig(process.env);
  const releaseMs = idleReleaseMs(process.env.ENCLAVE_IDLE_RELEASE_MS);
  const service = await createEnclaveService(startup);
  // Memory back to the system when idle (heap.ts); without the addon, said once at start.
  const heap = loadHeapBinding();
  if ('unavailable' in heap) (startup.mode === 'nitro' ? logger.warn : logger.info)('heap_trim_unavailable', { reason: heap.unavailable });
  const idleSteps =
    'binding' in heap
      ? [
          { afterMs: IDLE_TRIM_MS, run: () => logger.debug('heap_trimmed', { ...trimHeap(heap.binding, 'trim') }) },
          ...(releaseMs === undefined ? [] : [{ afterMs: releaseMs, run: () => logger.debug('heap_trimmed', { ...trimHeap(heap.binding, 'release') }) }]),
        ]
      : [];
  const server = await startEnclaveServer({ listen: startup.listen, logger, service, idleSteps });
  const pcr0 = Buffer.from(service.identity().pcrs?.[0] ?? new Uint8Array(0)).toString('hex');
  logger.info('listening', { address: server.address, mode: startup.mode, pcr0, replayCachePerUser: startup.envelopesPerUser });
  // Each thread of libuv's pool keeps the 19 MiB of the last PIN stretch it ran (an arena of its own,
  // process-env.ts), so a pool larger than the vCPUs costs memory and runs no more stretches at once (kdf.ts).
  const poolThreads = Number(process.env.UV_THREADPOOL_SIZE);
  if (poolThreads > availableParallelism()) {
    logger.warn('thread_pool_above_vcpus', { poolThreads, vcpus: availableParallelism(), keptMiB: poolThreads * 19 });
  }
  // Graceful: serve what the host has in flight, then close (SHUTDOWN_TIMEOUT_MS at most, default 10 s).
  const timeoutMs = Number(process.env.SHUTDOWN_TIMEOUT_MS ?? '10000');
  let stopping = false;
  const stop = (): void => {
    if (stopping) return;
    stopping = true;
    logger.info('stopping', { inFlight: server.inFlight, connections: server.connections });
    // The guard's held clears are written whatever the drain did (a clear not written leaves its guess counted).
    void server
      .drain(Number.isFinite(timeoutMs) ? timeoutMs : 10_000)
      .catch(() => undefined)
      .then(() => service.settleGuard())
      .catch(() => logger.warn('guard_clears_unwritten', {}))
      .then(() => {
        logger.info('stopped');
        process.exit(0);
      });
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
} catch (err) {
  logger.error('start_failed', { reason: (err as Error).message });
  process.exit(1);
}
