/**
 * node-http.ts for the browser builds (client/scripts/build-browser.mjs puts this file in its place): a browser's
 * API requests go through its fetch, and the builds carry none of the Node transport.
 */
import type { ApiTransport } from './node-http.js';

export type { ApiResponse, ApiTransport } from './node-http.js';

/** The global fetch, always. */
export function apiTransport(fallback: ApiTransport): Promise<ApiTransport> {
  return Promise.resolve(fallback);
}
