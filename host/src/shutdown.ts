/**
 * Graceful shutdown of the host (SIGTERM / SIGINT): `/readyz` answers 503
 * at once, requests that arrive after the signal get 503 SHUTTING_DOWN (with
 * `Connection: close`), the listener stops accepting, and the requests in
 * flight (enclave calls included) finish, for at most SHUTDOWN_TIMEOUT_MS.
 */
import type { NextFunction, Request, Response } from 'express';
import { sendError } from './api/http-errors.js';

export class Drain {
  private draining = false;
  private inFlight = 0;
  private readonly waiters = new Set<() => void>();

  get active(): boolean {
    return this.draining;
  }

  get requestsInFlight(): number {
    return this.inFlight;
  }

  /** Counts requests; refuses new ones once draining. Mount it first. */
  middleware() {
    return (_req: Request, res: Response, next: NextFunction): void => {
      if (this.draining) {
        res.setHeader('connection', 'close');
        sendError(res, 'SHUTTING_DOWN', 'this instance is shutting down; retry');
        return;
      }
      this.inFlight++;
      let done = false;
      const finish = (): void => {
        if (done) return;
        done = true;
        this.inFlight--;
        if (this.inFlight === 0) for (const w of this.waiters) w();
      };
      res.on('finish', finish);
      res.on('close', finish);
      next();
    };
  }

  /** Starts draining; resolves when nothing is in flight, or after `timeoutMs`. */
  async start(timeoutMs: number): Promise<'drained' | 'timeout'> {
    this.draining = true;
    if (this.inFlight === 0) return 'drained';
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.waiters.delete(done);
        resolve('timeout');
      }, timeoutMs);
      const done = (): void => {
        clearTimeout(timer);
        this.waiters.delete(done);
        resolve('drained');
      };
      this.waiters.add(done);
    });
  }
}
