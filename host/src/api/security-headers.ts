/**
 * helmet's security headers, set in one pass. `helmet()` runs twelve middlewares on every request (a call and a
 * `next` each) to set headers whose values its options fix at start-up (ours are its defaults: no per-request
 * function in them). They are read here once, from a response helmet has handled, and each request gets the same
 * headers from one loop: helmet's chain took 0.11 ms of the host's 1.6 ms of main thread per signature at one client
 * (perf, docs/performance.md). helmet stays the source of the values; `host/test/security-headers.test.ts` checks a
 * real answer against what helmet sets.
 */
import { IncomingMessage, ServerResponse } from 'node:http';
import { Socket } from 'node:net';
import type { NextFunction, Request, RequestHandler, Response } from 'express';

/** A header's name and value, as `ServerResponse.setHeader` takes them. */
export type FixedHeader = readonly [name: string, value: string | readonly string[]];

/**
 * The headers `middleware` sets on a response that has none, read from a real `ServerResponse` (no socket
 * written). Throws if it does not call `next` at once without an error: a middleware that waits or fails is not one
 * whose headers are fixed.
 */
export function headersSetBy(middleware: RequestHandler): FixedHeader[] {
  const socket = new Socket();
  try {
    const req = new IncomingMessage(socket);
    const res = new ServerResponse(req);
    let outcome: 'next' | 'error' | undefined;
    middleware(req as Request, res as unknown as Response, ((err?: unknown) => (outcome = err === undefined ? 'next' : 'error')) as NextFunction);
    if (outcome !== 'next') throw new Error(`the middleware ${outcome === 'error' ? 'failed' : 'did not call next() at once'}`);
    return Object.entries(res.getHeaders()).map(([name, value]) => [name, Array.isArray(value) ? [...(value as string[])] : String(value)] as const);
  } finally {
    socket.destroy();
  }
}

/** A middleware that sets `headers` and goes on. */
export const setHeaders =
  (headers: readonly FixedHeader[]): RequestHandler =>
  (_req: Request, res: Response, next: NextFunction) => {
    for (const [name, value] of headers) res.setHeader(name, value);
    next();
  };
