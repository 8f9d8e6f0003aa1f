/**
 * The HTTP API (SPEC §2). At this stage: liveness and readiness; the wallet
 * routes arrive with the host issue.
 */
import express, { type NextFunction, type Request, type Response } from 'express';
import helmet from 'helmet';
import { randomUUID } from 'node:crypto';
import { EnclaveWalletError, type ErrorCodeName } from '@enclave-wallet/proto';
import type { EnclaveClient } from './enclave-client.js';

export interface AppDependencies {
  enclave: EnclaveClient;
}

/** The error body of SPEC §2. */
function sendError(res: Response, status: number, code: ErrorCodeName, message: string, extra: Record<string, unknown> = {}): void {
  res.status(status).json({ error: { code, message, requestId: res.locals.requestId as string, ...extra } });
}

export function createApp(deps: AppDependencies): express.Express {
  const app = express();
  app.disable('x-powered-by');
  app.use(helmet());
  app.use((req: Request, res: Response, next: NextFunction) => {
    res.locals.requestId = randomUUID();
    res.setHeader('x-request-id', res.locals.requestId as string);
    next();
  });

  app.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });

  app.get('/readyz', async (_req, res) => {
    try {
      const health = await deps.enclave.call('health', {}, { timeoutMs: 2000 });
      res.json({ status: 'ready', enclave: { initialized: health.initialized ?? false, version: health.identity?.version ?? '' } });
    } catch (err) {
      const e = err instanceof EnclaveWalletError ? err : new EnclaveWalletError('ENCLAVE_UNAVAILABLE', 'the enclave is unavailable');
      sendError(res, 503, e.code, e.message);
    }
  });

  app.use((_req: Request, res: Response) => sendError(res, 404, 'NOT_FOUND', 'no such route'));
  return app;
}
