/**
 * The request being served, for code far from Express (the enclave client
 * reads the id to carry it into the enclave's logs).
 */
import { AsyncLocalStorage } from 'node:async_hooks';

const storage = new AsyncLocalStorage<{ requestId: string }>();

/** Runs `fn` as part of the request `requestId`. */
export function withRequest<T>(requestId: string, fn: () => T): T {
  return storage.run({ requestId }, fn);
}

/** The id of the HTTP request being served, if any. */
export function currentRequestId(): string | undefined {
  return storage.getStore()?.requestId;
}
