/**
 * The enclave's RPC server: every schema operation, served over the
 * transport by EnclaveService. Errors that are not product errors are logged
 * by class name only (their messages could quote input) and answered as
 * INTERNAL_ERROR.
 */
import { performance } from 'node:perf_hooks';
import { startRpcServer, type Handlers, type RpcServer } from '@enclave-wallet/proto';
import type { StartupConfig } from './config.js';
import { EnvelopeKey } from './envelope/hpke.js';
import type { Logger } from './log.js';
import { createPlatform } from './platform/index.js';
import type { Platform } from './platform/types.js';
import { EnclaveService } from './service.js';
import { pause } from './pause.js';
import { IdleTask, type IdleStep } from './heap.js';

export { ENCLAVE_VERSION } from './service.js';

export interface EnclaveServerOptions {
  /** `tcp://…` locally, `vsock://…` on Nitro. */
  listen: string;
  logger: Logger;
  service: EnclaveService;
  /** What to run once each time the enclave goes idle, each after its `afterMs` with no request in flight: the heap's steps (heap.ts). */
  idleSteps?: readonly IdleStep[];
}

/** Makes the service with its start-up keys: the envelope key (X25519) and the KMS recipient key (RSA-2048). */
export async function createEnclaveService(startup: StartupConfig, platform?: Platform): Promise<EnclaveService> {
  return new EnclaveService({
    startup,
    platform: platform ?? (await createPlatform({ mode: startup.mode, devCaDir: startup.devCaDir })),
    envelopeKey: await EnvelopeKey.generate(),
  });
}

/** The enclave's server: the RPC server, and what a graceful stop needs. */
export interface EnclaveServer extends RpcServer {
  /** Requests being handled now. */
  readonly inFlight: number;
  /**
   * A graceful stop: no new connections; the open ones are served until the
   * host has gone (its connections closed) or nothing has been in flight for
   * `quietMs`, at most `timeoutMs`; then everything closes.
   */
  drain(timeoutMs: number, quietMs?: number): Promise<void>;
}

/** A request that succeeded in this many ms or more is logged at info (see onRequestDone below). */
export const SLOW_REQUEST_MS = 1000;

/** `request_refused` lines in each second (a fixed one-second window), at most; the refusals beyond are counted. */
export const REFUSED_LINES_PER_SECOND = 10;
/** `request` lines of requests that failed in each second (a fixed one-second window), at most; the rest are counted. */
export const FAILED_LINES_PER_SECOND = 100;
/** `internal_error` lines in each second (a fixed one-second window), at most; the rest are counted. */
export const INTERNAL_LINES_PER_SECOND = 10;

/**
 * Writes at most `perSecond` lines in each second (a fixed one-second window on `now`) and counts the rest; the
 * count is written once, by `suppressed`, a second after the first one held back or at `close()` (the server's close),
 * whichever comes first; after `close()` every line is written (the requests still finishing then).
 */
export function cappedLines<F>(
  write: (fields: F) => void,
  suppressed: (count: number) => void,
  perSecond: number,
  now: () => number = () => performance.now(),
  later: (fn: () => void, ms: number) => void = (fn, ms) => void setTimeout(fn, ms).unref(),
): { line: (fields: F) => void; close: () => void } {
  let windowStart = -Infinity;
  let inWindow = 0;
  let held = 0;
  let closed = false;
  const flush = (): void => {
    if (held > 0) suppressed(held);
    held = 0;
  };
  return {
    line: (fields) => {
      // After the server's close, the few requests still finishing are written as they come: no count left behind.
      if (closed) return write(fields);
      const t = now();
      if (t - windowStart >= 1000) {
        windowStart = t;
        inWindow = 0;
      }
      if (inWindow++ < perSecond) return write(fields);
      if (held++ === 0) later(flush, 1000);
    },
    close: () => {
      closed = true;
      flush();
    },
  };
}

/**
 * Logs a request refused before any handler ran (a frame that does not decode, request id 0, another protocol version,
 * no or an unknown operation) at warn, by its code, with its operation and the host's request id where it decoded:
 * a host of this version never sends one, and a host of another sees PROTOCOL_VERSION_UNSUPPORTED on each request.
 * Such a request costs the enclave next to nothing, so a hostile host could send them without end: at most
 * REFUSED_LINES_PER_SECOND lines in each second, then one `request_refused_suppressed` line with the count
 * (cappedLines).
 */
export function refusalLog(
  logger: Logger,
  now?: () => number,
  later?: (fn: () => void, ms: number) => void,
): { refused: (refused: { code: string; operation?: string; traceId?: string }) => void; close: () => void } {
  const { line, close } = cappedLines<{ code: string; operation?: string; traceId?: string }>(
    ({ code, operation, traceId }) => logger.warn('request_refused', { requestId: traceId, operation, code }),
    (count) => logger.warn('request_refused_suppressed', { count }),
    REFUSED_LINES_PER_SECOND,
    now,
    later,
  );
  return { refused: line, close };
}

/**
 * Logs a request its handler answered with an error at warn (`request`: the host's request id, operation, time and
 * code). A hostile host can make requests fail fast (an envelope that does not open costs the enclave about 0.3 ms),
 * so at most FAILED_LINES_PER_SECOND lines in each second, then one `request_suppressed` line with the count
 * (cappedLines); the host logs each of its HTTP requests, failed ones included, under the same id.
 */
export function failureLog(
  logger: Logger,
  now?: () => number,
  later?: (fn: () => void, ms: number) => void,
): { failed: (failed: { operation: string; traceId: string; ms: number; code: string }) => void; close: () => void } {
  const { line, close } = cappedLines<{ operation: string; traceId: string; ms: number; code: string }>(
    ({ operation, traceId, ms, code }) => logger.warn('request', { requestId: traceId || undefined, operation, ms, code }),
    (count) => logger.warn('request_suppressed', { count }),
    FAILED_LINES_PER_SECOND,
    now,
    later,
  );
  return { failed: line, close };
}

/**
 * Logs a handler's error that is not one of the protocol's (a bug: the host gets INTERNAL_ERROR) at error, with its operation
 * and the error's class, nothing of its message (it may hold request data). If a hostile host found a request that
 * makes one, it could send it without end: at most INTERNAL_LINES_PER_SECOND lines in each second, then one
 * `internal_error_suppressed` line with the count (cappedLines).
 */
export function internalErrorLog(
  logger: Logger,
  now?: () => number,
  later?: (fn: () => void, ms: number) => void,
): { internal: (err: unknown, operation?: string) => void; close: () => void } {
  const { line, close } = cappedLines<{ operation: string; errorClass: string }>(
    (fields) => logger.error('internal_error', fields),
    (count) => logger.error('internal_error_suppressed', { count }),
    INTERNAL_LINES_PER_SECOND,
    now,
    later,
  );
  return {
    internal: (err, operation) => line({ operation: operation ?? 'none', errorClass: (err as Error)?.constructor?.name ?? typeof err }),
    close,
  };
}

/** Starts serving; resolves once listening. */
export async function startEnclaveServer(options: EnclaveServerOptions): Promise<EnclaveServer> {
  const s = options.service;
  let inFlight = 0;
  let lastBusy = Date.now();
  const idle = options.idleSteps?.length
    ? new IdleTask(options.idleSteps, (err) => options.logger.warn('idle_step_failed', { reason: (err as Error)?.message ?? String(err) }))
    : undefined;
  // `activity`: whether the request delays the idle steps. Not `health`, which the host sends for each probe of
  // /readyz and scrape of /metrics: a probe every few seconds would keep the second step from ever running.
  const counted =
    <A, R>(fn: (a: A) => Promise<R>, activity: boolean) =>
    async (a: A): Promise<R> => {
      inFlight++;
      if (activity) idle?.busy();
      try {
        return await fn(a);
      } finally {
        inFlight--;
        lastBusy = Date.now();
        if (activity) idle?.done();
      }
    };
  const refusals = refusalLog(options.logger);
  const failures = failureLog(options.logger);
  const internalErrors = internalErrorLog(options.logger);
  const handlers = handlersOf(s);
  for (const k of Object.keys(handlers) as Array<keyof Handlers>)
    (handlers as Record<string, unknown>)[k] = counted(handlers[k] as (a: unknown) => Promise<unknown>, k !== 'health');
  const server = await startRpcServer(options.listen, handlers, {
    onInternalError: internalErrors.internal,
    onConnectionClosed: (reason) => options.logger.debug('connection_closed', { reason: reason?.name ?? 'end' }),
    // A request that failed is logged at warn, under the host's request id, so it can be followed from host to
    // enclave (at most FAILED_LINES_PER_SECOND a second, failureLog above); one that succeeded at info only when the
    // host may know nothing of it (`init`, which the host sends on each connection, and one that took SLOW_REQUEST_MS
    // or more, which the host may have given up on), else at debug.
    // The host logs each of its HTTP requests under the same id (route, status, time, error code), and on Nitro the
    // enclave's console, where these lines go, is readable only by an enclave started in debug mode: at info a line
    // per signature cost the enclave's core 0.07 ms of its 2 (docs/performance.md, sixteenth look).
    // A request refused before any handler ran (refusalLog above).
    onRefused: refusals.refused,
    onRequestDone: ({ operation, traceId, ms, code }) =>
      code
        ? failures.failed({ operation, traceId, ms, code })
        : (operation === 'init' || ms >= SLOW_REQUEST_MS ? options.logger.info : options.logger.debug)('request', {
            requestId: traceId || undefined,
            operation,
            ms,
          }),
  });
  return {
    get address() {
      return server.address;
    },
    get connections() {
      return server.connections;
    },
    get inFlight() {
      return inFlight;
    },
    stopListening: () => server.stopListening(),
    close: async () => {
      idle?.stop();
      await server.close();
      refusals.close();
      failures.close();
      internalErrors.close();
    },
    async drain(timeoutMs, quietMs = 1000) {
      await server.stopListening();
      const deadline = Date.now() + timeoutMs;
      while (Date.now() < deadline && server.connections > 0 && !(inFlight === 0 && Date.now() - lastBusy >= quietMs)) {
        await pause(25);
      }
      idle?.stop();
      await server.close();
      refusals.close();
      failures.close();
      internalErrors.close();
    },
  };
}

/** One handler per schema operation, each the service's method of the same name. */
function handlersOf(s: EnclaveService): Handlers {
  return {
    init: (body) => s.init(body),
    health: () => s.health(),
    getAttestation: (body) => s.getAttestation(body),
    createWallet: (body) => s.createWallet(body),
    deriveAccount: (body) => s.deriveAccount(body),
    sign: (body) => s.sign(body),
    changePin: (body) => s.changePin(body),
    newRecoveryCode: (body) => s.newRecoveryCode(body),
    resetPin: (body) => s.resetPin(body),
    listFactors: (body) => s.listFactors(body),
    addPasskey: (body) => s.addPasskey(body),
    removePasskey: (body) => s.removePasskey(body),
    export: (body) => s.export(body),
    import: (body) => s.import(body),
    updateCredentials: (body) => s.updateCredentials(body),
  };
}
