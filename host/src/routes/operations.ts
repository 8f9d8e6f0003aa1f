/** Readiness, metrics (operators only) and the API reference (liveness, /healthz: app.ts). */
import { timingSafeEqual } from 'node:crypto';
import type { Express } from 'express';
import { sendError } from '../api/http-errors.js';
import { v1 } from '@enclave-wallet/proto';
import { gauge } from '../api/metrics.js';
import { openApiDocument, renderDocsPage } from '../api/openapi.js';

const isLoopback = (address: string | undefined): boolean => address === '127.0.0.1' || address === '::1' || address === '::ffff:127.0.0.1';
const safeEqual = (a: string, b: string): boolean => {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
};
import { traced, type RouteContext } from './context.js';

export function mountOperations(app: Express, ctx: RouteContext): void {
  const { deps, route, metrics } = ctx;
  // --- readiness, metrics, docs (liveness, /healthz, is answered before the middleware: app.ts) ---------------
  app.get(
    '/readyz',
    route(async (_req, res) => {
      const health = await deps.enclave.call('health', {}, { timeoutMs: 2000, ...traced(res) });
      await deps.store?.ping();
      res.json({
        status: 'ready',
        enclave: { initialized: health.initialized ?? false, version: health.identity?.version ?? '' },
        storage: deps.store ? 'ok' : 'none',
      });
    }),
  );
  app.get('/metrics', async (req, res) => {
    // Operators only: a bearer token, or (without one configured) a client on this machine. Behind a trusted
    // proxy (TRUST_PROXY_HOPS > 0) the socket says nothing about the client, as a proxy on this machine makes
    // every client loopback: then only the token opens it (the configuration refuses to start without one).
    const token = deps.metricsToken;
    const behindProxy = (deps.trustProxyHops ?? 0) > 0;
    const allowed = token ? safeEqual(req.headers.authorization ?? '', `Bearer ${token}`) : !behindProxy && isLoopback(req.socket.remoteAddress);
    if (!allowed) {
      sendError(res, 'FORBIDDEN', token || !behindProxy ? 'metrics are for operators' : 'metrics are for operators: behind a proxy, set METRICS_TOKEN');
      return;
    }
    // The enclave's own numbers, asked for now (a short timeout: metrics must not hang on an enclave that is away).
    const lines: string[] = [];
    try {
      const h = await deps.enclave.call('health', {}, { timeoutMs: 1000, ...traced(res) });
      const st = h.stats ?? {};
      const id = h.identity ?? {};
      const pcr0 = Buffer.from(id.pcrs?.[0] ?? new Uint8Array(0)).toString('hex');
      lines.push(
        '# TYPE enclave_up gauge',
        gauge('enclave_up', {}, 1),
        '# TYPE build_info gauge',
        gauge('build_info', { enclave_version: id.version ?? '', mode: id.mode === v1.PlatformMode.PLATFORM_MODE_NITRO ? 'nitro' : 'simulated', pcr0 }, 1),
        '# TYPE enclave_stretch_queue_running gauge',
        gauge('enclave_stretch_queue_running', {}, st.stretchesRunning ?? 0),
        '# TYPE enclave_stretch_queue_waiting gauge',
        gauge('enclave_stretch_queue_waiting', {}, st.stretchesWaiting ?? 0),
        '# TYPE enclave_kms_calls_total counter',
        gauge('enclave_kms_calls_total', {}, st.kmsCalls ?? 0),
        '# TYPE enclave_kms_errors_total counter',
        gauge('enclave_kms_errors_total', {}, st.kmsErrors ?? 0),
        '# TYPE enclave_kms_call_seconds summary',
        gauge('enclave_kms_call_seconds_sum', {}, (st.kmsMicros ?? 0) / 1e6),
        gauge('enclave_kms_call_seconds_count', {}, st.kmsCalls ?? 0),
        '# TYPE enclave_data_keys_cached gauge',
        gauge('enclave_data_keys_cached', {}, st.dataKeysCached ?? 0),
        '# TYPE enclave_phase_seconds summary',
        ...(st.phases ?? []).flatMap((p) => [
          gauge('enclave_phase_seconds_sum', { phase: p.name ?? '' }, Number(p.micros ?? 0) / 1e6),
          gauge('enclave_phase_seconds_count', { phase: p.name ?? '' }, Number(p.count ?? 0)),
        ]),
      );
    } catch {
      lines.push('# TYPE enclave_up gauge', gauge('enclave_up', {}, 0));
    }
    res.type('text/plain; version=0.0.4').send(metrics.render() + lines.join('\n') + '\n');
  });
  app.get('/openapi.json', (_req, res) => {
    res.json(openApiDocument());
  });
  app.get('/docs', (_req, res) => {
    res.type('html').send(renderDocsPage(openApiDocument()));
  });
}
