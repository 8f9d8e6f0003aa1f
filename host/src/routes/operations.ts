/** Liveness, readiness, metrics (operators only) and the API reference. */
import { timingSafeEqual } from 'node:crypto';
import type { Express } from 'express';
import { sendError } from '../api/http-errors.js';
import { openApiDocument, renderDocsPage } from '../api/openapi.js';

const isLoopback = (address: string | undefined): boolean => address === '127.0.0.1' || address === '::1' || address === '::ffff:127.0.0.1';
const safeEqual = (a: string, b: string): boolean => {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
};
import type { RouteContext } from './context.js';

export function mountOperations(app: Express, ctx: RouteContext): void {
  const { deps, route, metrics } = ctx;
  // --- liveness, readiness, metrics, docs ---------------------------------
  app.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });
  app.get(
    '/readyz',
    route(async (_req, res) => {
      const health = await deps.enclave.call('health', {}, { timeoutMs: 2000 });
      await deps.store?.ping();
      res.json({ status: 'ready', enclave: { initialized: health.initialized ?? false, version: health.identity?.version ?? '' }, storage: deps.store ? 'ok' : 'none' });
    }),
  );
  app.get('/metrics', (req, res) => {
    // Operators only: a bearer token, or (without one configured) a client on this machine.
    const token = deps.metricsToken;
    const allowed = token ? safeEqual(req.headers.authorization ?? '', `Bearer ${token}`) : isLoopback(req.socket.remoteAddress);
    if (!allowed) {
      sendError(res, 'FORBIDDEN', 'metrics are for operators');
      return;
    }
    res.type('text/plain; version=0.0.4').send(metrics.render());
  });
  app.get('/openapi.json', (_req, res) => {
    res.json(openApiDocument());
  });
  app.get('/docs', (_req, res) => {
    res.type('html').send(renderDocsPage(openApiDocument()));
  });

}
