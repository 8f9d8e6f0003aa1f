/**
 * The HTTP API (SPEC §2–§3, without the chain endpoints). The host handles
 * login, sessions and storage; every secret operation is forwarded to the
 * enclave, and every blob the enclave returns is stored with a conditional
 * write on the version that was read. This file holds what every request
 * goes through (request id, logs, metrics, limits, body parsing, errors);
 * the routes are in routes/, one file per resource.
 */
import { randomUUID } from 'node:crypto';
import express, { type NextFunction, type Request, type Response } from 'express';
import helmet from 'helmet';
import type { Logger } from 'pino';
import type { OperationName, RequestOf, ResponseOf } from '@enclave-wallet/proto';
import { sendError, sendFailure } from './api/http-errors.js';
import { headersSetBy, setHeaders } from './api/security-headers.js';
import { mountDemo, type DemoOptions } from './routes/demo.js';
import { mountAttestation } from './routes/attestation.js';
import { mountAuth } from './routes/auth.js';
import { routeContext } from './routes/context.js';
import { mountOperations } from './routes/operations.js';
import { mountSigning } from './routes/signing.js';
import { mountChains } from './routes/chains.js';
import type { Chains } from './chains/index.js';
import { mountWallets } from './routes/wallets.js';
import { mountPasskeys } from './routes/passkeys.js';
import type { Drain } from './shutdown.js';
import { Metrics } from './api/metrics.js';
import { clientKey, RateLimiter } from './api/rate-limit.js';
import type { IdTokenVerifier } from './auth/oidc.js';
import type { TokenService } from './auth/tokens.js';
import type { Store } from './storage/index.js';

/** What the app needs from the enclave link (EnclaveClient or EnclavePool). */
export interface EnclaveApi {
  /** `traceId`: the HTTP request's id (x-request-id), which the enclave's log line of the call carries too. */
  call<K extends OperationName>(operation: K, body: RequestOf<K>, options?: { timeoutMs?: number; traceId?: string }): Promise<ResponseOf<K>>;
}

export interface AppDependencies {
  enclave: EnclaveApi;
  store?: Store;
  tokens?: TokenService;
  idTokens?: IdTokenVerifier;
  logger?: Logger;
  /** Off only for benchmarks (RATE_LIMITS=off). */
  rateLimits?: boolean;
  /** Load balancers in front of the host that append to X-Forwarded-For (TRUST_PROXY_HOPS); 0 trusts no header. */
  trustProxyHops?: number;
  /** Bearer token for /metrics (METRICS_TOKEN); without one, /metrics answers loopback clients only, and nobody behind a trusted proxy. */
  metricsToken?: string;
  /** The demo page (local stack only, while the dev issuer is on). */
  demo?: DemoOptions;
  /** The chains of CHAINS: balances, prepared transactions and broadcast. */
  chains?: Chains;
  /** Graceful shutdown: counts requests in flight, refuses new ones once draining. */
  drain?: Drain;
  /** Wallets one user may have (MAX_WALLETS_PER_USER; default HOST_LIMIT_DEFAULTS). */
  maxWalletsPerUser?: number;
  /** Accounts one wallet may have, all networks together (MAX_ACCOUNTS_PER_WALLET). */
  maxAccountsPerWallet?: number;
  /**
   * Fresh attestation documents this host asks the enclave for: at once (ATTESTATION_CONCURRENCY), and per
   * second (ATTESTATION_RATE; applied with the rate limits).
   */
  attestation?: { concurrency?: number; ratePerSecond?: number };
  /** FRAME_ORIGIN: the wallet frame's origin, the only browser origin answered with CORS headers (docs/frame.md). */
  frameOrigin?: string;
}

/** What /healthz answers. */
const HEALTHY = Buffer.from(JSON.stringify({ status: 'ok' }));

export function createApp(deps: AppDependencies): express.Express {
  const app = express();
  const metrics = new Metrics();
  const limits =
    deps.rateLimits === false ? undefined : { perIp: new RateLimiter(300, 60_000), auth: new RateLimiter(30, 60_000), perUser: new RateLimiter(120, 60_000) };
  const clientOf = (req: Request): string => clientKey(req.socket.remoteAddress, req.headers['x-forwarded-for'], deps.trustProxyHops ?? 0);

  app.disable('x-powered-by');
  app.set('trust proxy', false);
  // Every answer is `Cache-Control: no-store` (below): session tokens, signatures, exported phrases and balances
  // are not for a browser's or a proxy's cache, so there is nothing for an ETag to revalidate either (Express would
  // hash every body for one).
  app.set('etag', false);
  // Liveness, before every middleware below: a load balancer's probe every few seconds gets a fixed answer, with no
  // security headers to set on it, no request id, no log line and no metrics (docs/api.md). It still says
  // SHUTTING_DOWN (503) once the host drains, as every other request does.
  app.get('/healthz', (_req: Request, res: Response, next: NextFunction) => {
    if (deps.drain?.active) return next();
    res.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'content-length': HEALTHY.length, 'cache-control': 'no-store' });
    res.end(HEALTHY);
  });
  // helmet's headers, read once and set in one pass (api/security-headers.ts).
  app.use(setHeaders(headersSetBy(helmet())));
  if (deps.frameOrigin) app.use(cors(deps.frameOrigin));
  if (deps.drain) app.use(deps.drain.middleware());
  app.use((req: Request, res: Response, next: NextFunction) => {
    const requestId = randomUUID();
    const started = process.hrtime.bigint();
    res.locals.requestId = requestId;
    res.setHeader('x-request-id', requestId);
    res.setHeader('cache-control', 'no-store');
    res.on('finish', () => {
      const route = (req.route?.path as string | undefined) ?? 'unmatched';
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      metrics.count('http_requests_total', { method: req.method, route, status: String(res.statusCode) });
      metrics.observe('http_request_duration_seconds', { route }, seconds);
      // Logged by construction: these fields and nothing else (no headers, bodies or query strings).
      const entry = {
        requestId,
        method: req.method,
        route,
        status: res.statusCode,
        ms: Math.round(seconds * 1000),
        userId: res.locals.userId as string | undefined,
        code: res.locals.errorCode as string | undefined,
      };
      if (res.statusCode >= 500)
        deps.logger?.error({ ...entry, errorClass: (res.locals.internalError as Error | undefined)?.constructor?.name }, 'request failed');
      else deps.logger?.info(entry, 'request');
    });
    try {
      limits?.perIp.hit(clientOf(req));
    } catch (err) {
      sendFailure(res, err);
      return;
    }
    next();
  });
  // No body parser here: a route reads its body itself, after authentication and with its own limit (api/body.ts).

  const ctx = routeContext(deps, limits, metrics, clientOf);
  mountOperations(app, ctx);
  mountAuth(app, ctx);
  mountAttestation(app, ctx);
  mountWallets(app, ctx);
  mountPasskeys(app, ctx);
  mountSigning(app, ctx);
  mountChains(app, ctx);
  if (deps.demo) mountDemo(app, { ...deps.demo, ...(deps.frameOrigin ? { frameOrigin: deps.frameOrigin } : {}) });

  app.use((_req: Request, res: Response) => sendError(res, 'NOT_FOUND', 'no such route: the API is under /v1, described at /docs and /openapi.json'));
  // Middleware errors.
  app.use((err: unknown, _req: Request, res: Response, _next: NextFunction) => sendFailure(res, err));
  return app;
}

/**
 * CORS for the wallet frame's origin only (docs/api.md, docs/frame.md): a request whose Origin is `frameOrigin`
 * gets Access-Control-Allow-Origin naming it (never `*`, never credentials: the API takes bearer tokens, not
 * cookies); a preflight from it is answered 204 here, before the rate limits and the routes. Any other origin
 * gets no CORS header, so a browser keeps its page from reading the answer.
 */
export function cors(frameOrigin: string): (req: Request, res: Response, next: NextFunction) => void {
  return (req, res, next) => {
    res.vary('Origin');
    if (req.headers.origin !== frameOrigin) return next();
    res.setHeader('access-control-allow-origin', frameOrigin);
    res.setHeader('access-control-expose-headers', 'x-request-id, retry-after');
    if (req.method === 'OPTIONS' && req.headers['access-control-request-method']) {
      res.setHeader('access-control-allow-methods', 'GET, POST, DELETE');
      res.setHeader('access-control-allow-headers', 'authorization, content-type, accept');
      res.setHeader('access-control-max-age', '600');
      res.status(204).end();
      return;
    }
    next();
  };
}
