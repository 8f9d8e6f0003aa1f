/**
 * The HTTP API (SPEC §2–§3, without the chain endpoints). The host handles
 * login, sessions and storage; every secret operation is forwarded to the
 * enclave, and every blob the enclave returns is stored with a conditional
 * write on the version that was read.
 */
import { randomUUID, timingSafeEqual } from 'node:crypto';
import express, { type NextFunction, type Request, type Response } from 'express';
import helmet from 'helmet';
import type { Logger } from 'pino';
import { base58 } from '@scure/base';
import { EnclaveWalletError, v1, type OperationName, type RequestOf, type ResponseOf } from '@enclave-wallet/proto';
import { sendError, sendFailure } from './api/http-errors.js';
import { mountDemo, type DemoOptions } from './api/demo.js';
import { withRequest } from './request-context.js';
import type { Drain } from './shutdown.js';
import { Metrics } from './api/metrics.js';
import { openApiDocument, renderDocsPage } from './api/openapi.js';
import { clientKey, RateLimiter } from './api/rate-limit.js';
import * as S from './api/schemas.js';
import type { IdTokenVerifier } from './auth/oidc.js';
import type { TokenService } from './auth/tokens.js';
import type { Account, Store, WalletRecord } from './storage/wallets.js';

/** What the app needs from the enclave link (EnclaveClient or EnclavePool). */
export interface EnclaveApi {
  call<K extends OperationName>(operation: K, body: RequestOf<K>, options?: { timeoutMs?: number }): Promise<ResponseOf<K>>;
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
  /** Bearer token for /metrics (METRICS_TOKEN); without one, /metrics answers loopback clients only. */
  metricsToken?: string;
  /** The demo page (local stack only, while the dev issuer is on). */
  demo?: DemoOptions;
  /** Graceful shutdown: counts requests in flight, refuses new ones once draining. */
  drain?: Drain;
}

/** The body limit of every request. */
export const BODY_LIMIT_BYTES = 1024 * 1024;
const ATTESTATION_CACHE_MS = 10_000;

const NETWORK: Record<Account['network'], v1.Network> = { evm: v1.Network.NETWORK_EVM, solana: v1.Network.NETWORK_SOLANA, bitcoin: v1.Network.NETWORK_BITCOIN };
const NETWORK_NAME: Record<number, Account['network']> = { 1: 'evm', 2: 'solana', 3: 'bitcoin' };
const TX_TYPE = { legacy: v1.EvmTransactionType.EVM_TRANSACTION_TYPE_LEGACY, eip2930: v1.EvmTransactionType.EVM_TRANSACTION_TYPE_EIP2930, eip1559: v1.EvmTransactionType.EVM_TRANSACTION_TYPE_EIP1559 };

const b64 = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, 'base64'));
const hex = (b: Uint8Array | null | undefined): string => '0x' + Buffer.from(b ?? []).toString('hex');
const toAccount = (a: v1.Account.$Properties): Account => ({ network: NETWORK_NAME[a.network ?? 0] ?? 'evm', index: a.index ?? 0, path: a.path ?? '', address: a.address ?? '' });
const publicWallet = (w: WalletRecord): { walletId: string; accounts: Account[]; createdAt: string } => ({ walletId: w.walletId, accounts: w.accounts, createdAt: w.createdAt });

type Handler = (req: Request, res: Response) => Promise<void>;

const isLoopback = (address: string | undefined): boolean => address === '127.0.0.1' || address === '::1' || address === '::ffff:127.0.0.1';
const safeEqual = (a: string, b: string): boolean => {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
};

export function createApp(deps: AppDependencies): express.Express {
  const app = express();
  const metrics = new Metrics();
  const limits = deps.rateLimits === false ? undefined : { perIp: new RateLimiter(300, 60_000), auth: new RateLimiter(30, 60_000), perUser: new RateLimiter(120, 60_000) };
  const attestationCache = new Map<string, { at: number; body: unknown }>();
  const clientOf = (req: Request): string => clientKey(req.socket.remoteAddress, req.headers['x-forwarded-for'], deps.trustProxyHops ?? 0);

  app.disable('x-powered-by');
  app.set('trust proxy', false);
  app.use(helmet());
  if (deps.drain) app.use(deps.drain.middleware());
  app.use((req: Request, res: Response, next: NextFunction) => {
    const requestId = randomUUID();
    const started = process.hrtime.bigint();
    res.locals.requestId = requestId;
    res.setHeader('x-request-id', requestId);
    res.on('finish', () => {
      const route = (req.route?.path as string | undefined) ?? 'unmatched';
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      metrics.count('http_requests_total', { method: req.method, route, status: String(res.statusCode) });
      metrics.observe('http_request_duration_seconds', { route }, seconds);
      // Logged by construction: these fields and nothing else (no headers, bodies or query strings).
      const entry = { requestId, method: req.method, route, status: res.statusCode, ms: Math.round(seconds * 1000), userId: res.locals.userId as string | undefined, code: res.locals.errorCode as string | undefined };
      if (res.statusCode >= 500) deps.logger?.error({ ...entry, errorClass: (res.locals.internalError as Error | undefined)?.constructor?.name }, 'request failed');
      else deps.logger?.info(entry, 'request');
    });
    try {
      limits?.perIp.hit(clientOf(req));
    } catch (err) {
      sendFailure(res, err);
      return;
    }
    withRequest(requestId, next);
  });
  app.use(express.json({ limit: BODY_LIMIT_BYTES, strict: true }));

  const route = (fn: Handler) => (req: Request, res: Response) => {
    fn(req, res).catch((err: unknown) => sendFailure(res, err));
  };
  const need = <T>(value: T | undefined, what: string): T => {
    if (value === undefined) throw new EnclaveWalletError('UNSUPPORTED_OPERATION', `${what} is not configured on this host`);
    return value;
  };
  const authenticate = async (req: Request, res: Response): Promise<string> => {
    const header = req.headers.authorization;
    const token = header?.startsWith('Bearer ') ? header.slice(7) : undefined;
    const { userId } = await need(deps.tokens, 'authentication').verifyAccess(token);
    res.locals.userId = userId;
    limits?.perUser.hit(userId);
    return userId;
  };
  const loadWallet = async (userId: string, walletId: string): Promise<WalletRecord> => {
    if (!/^[A-Za-z0-9-]{1,64}$/.test(walletId)) throw new EnclaveWalletError('WALLET_NOT_FOUND', 'no such wallet');
    const wallet = await need(deps.store, 'storage').getWallet(userId, walletId);
    if (!wallet) throw new EnclaveWalletError('WALLET_NOT_FOUND', 'no such wallet');
    return wallet;
  };
  /**
   * Runs an enclave operation on a stored wallet. The enclave keeps attempt
   * counts and the current blob version in its guard table; it answers with a
   * blob only when it changed one (a PIN change) or when the stored one was
   * stale (then the current one, which the host stores in its place), each
   * written conditionally on the version read. `onConflict: 'ignore'` keeps
   * a newer stored blob (for operations whose effect does not depend on it,
   * such as signing).
   */
  const withWallet = async <T extends { sealedBlob?: Uint8Array | null }>(
    wallet: WalletRecord,
    op: () => Promise<T>,
    store: ((w: WalletRecord, out: T) => Promise<WalletRecord>) | undefined,
    onConflict: 'fail' | 'ignore',
  ): Promise<T> => {
    const out = await op();
    const save = store ?? (out.sealedBlob?.length ? (w: WalletRecord, o: T) => need(deps.store, 'storage').updateWallet(w, o.sealedBlob!) : undefined);
    try {
      await save?.(wallet, out);
    } catch (err) {
      if (!(onConflict === 'ignore' && err instanceof EnclaveWalletError && err.code === 'WALLET_CONFLICT')) throw err;
    }
    return out;
  };

  /** Has the enclave make a wallet (create or import) under a fresh id, and stores it. */
  const newWallet = async (userId: string, make: (walletId: string) => Promise<ResponseOf<'createWallet'>>) => {
    const walletId = randomUUID();
    const out = await make(walletId);
    const record = await need(deps.store, 'storage').createWallet({ walletId, userId, sealedBlob: out.sealedBlob!, accounts: (out.accounts ?? []).map(toAccount), createdAt: new Date().toISOString() });
    return publicWallet(record);
  };

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

  // --- authentication ------------------------------------------------------
  const loginAnswer = async (userId: string, tokens: { accessToken: string; refreshToken: string; expiresIn: number }) => {
    const user = await need(deps.store, 'storage').getUser(userId);
    return { ...tokens, user: { id: userId, email: user?.email ?? '', provider: user?.provider ?? '' } };
  };
  app.post(
    '/v1/auth/login',
    route(async (req, res) => {
      limits?.auth.hit(clientOf(req));
      const { idToken } = S.loginBody.parse(req.body);
      const identity = await need(deps.idTokens, 'login').verify(idToken);
      await need(deps.store, 'storage').upsertUser({ ...identity, createdAt: new Date().toISOString() });
      res.locals.userId = identity.userId;
      res.json(await loginAnswer(identity.userId, await need(deps.tokens, 'authentication').issue(identity.userId)));
    }),
  );
  app.post(
    '/v1/auth/refresh',
    route(async (req, res) => {
      limits?.auth.hit(clientOf(req));
      const { refreshToken } = S.refreshBody.parse(req.body);
      const { userId, tokens } = await need(deps.tokens, 'authentication').refresh(refreshToken);
      res.locals.userId = userId;
      res.json(await loginAnswer(userId, tokens));
    }),
  );

  // --- attestation -----------------------------------------------------------
  app.get(
    '/v1/enclave/attestation',
    route(async (req, res) => {
      const query = S.attestationQuery.safeParse(req.query);
      if (!query.success) throw new EnclaveWalletError('NONCE_INVALID', 'nonce must be hex, at most 64 bytes');
      const nonce = (query.data.nonce ?? '').toLowerCase();
      const cached = attestationCache.get(nonce);
      if (cached && Date.now() - cached.at < ATTESTATION_CACHE_MS) {
        res.json(cached.body);
        return;
      }
      const answer = await deps.enclave.call('getAttestation', { nonce: Buffer.from(nonce, 'hex') });
      const id = answer.identity ?? {};
      const pcrs: Record<string, string> = {};
      for (let i = 0; i <= 8; i++) pcrs[String(i)] = Buffer.from(id.pcrs?.[i] ?? new Uint8Array(48)).toString('hex');
      const body = {
        document: Buffer.from(answer.document ?? []).toString('base64'),
        publicKey: Buffer.from(id.envelopePublicKey ?? []).toString('base64'),
        pcrs,
        mode: id.mode === v1.PlatformMode.PLATFORM_MODE_NITRO ? 'nitro' : 'simulated',
        kdf: { algorithm: id.kdf?.algorithm ?? 'argon2id', memoryKiB: id.kdf?.memoryKib ?? 0, iterations: id.kdf?.iterations ?? 0, parallelism: id.kdf?.parallelism ?? 0 },
        expiresAt: new Date(answer.expiresAtMs ?? Date.now()).toISOString(),
      };
      if (attestationCache.size > 1000) attestationCache.clear();
      attestationCache.set(nonce, { at: Date.now(), body });
      res.json(body);
    }),
  );

  // --- wallets ---------------------------------------------------------------
  app.post(
    '/v1/wallets',
    route(async (req, res) => {
      const userId = await authenticate(req, res);
      const { pinEnvelope } = S.pinEnvelopeBody.parse(req.body);
      res.status(201).json(await newWallet(userId, (walletId) => deps.enclave.call('createWallet', { userId, walletId, pinEnvelope: b64(pinEnvelope) })));
    }),
  );
  app.post(
    '/v1/wallets/import',
    route(async (req, res) => {
      const userId = await authenticate(req, res);
      const { recoveryEnvelope } = S.importBody.parse(req.body);
      res.status(201).json(await newWallet(userId, (walletId) => deps.enclave.call('import', { userId, walletId, recoveryEnvelope: b64(recoveryEnvelope) })));
    }),
  );
  app.get(
    '/v1/wallets',
    route(async (req, res) => {
      const userId = await authenticate(req, res);
      res.json({ wallets: (await need(deps.store, 'storage').listWallets(userId)).map(publicWallet) });
    }),
  );
  app.get(
    '/v1/wallets/:walletId',
    route(async (req, res) => {
      const userId = await authenticate(req, res);
      res.json(publicWallet(await loadWallet(userId, String(req.params.walletId))));
    }),
  );
  app.post(
    '/v1/wallets/:walletId/accounts',
    route(async (req, res) => {
      const userId = await authenticate(req, res);
      const body = S.deriveAccountBody.parse(req.body);
      const wallet = await loadWallet(userId, String(req.params.walletId));
      if (wallet.accounts.some((a) => a.network === body.network && a.index === body.index)) throw new EnclaveWalletError('ACCOUNT_EXISTS', 'the wallet already has this account');
      let account: Account | undefined;
      await withWallet(
        wallet,
        () => deps.enclave.call('deriveAccount', { userId, walletId: wallet.walletId, sealedBlob: wallet.sealedBlob, pinEnvelope: b64(body.pinEnvelope), network: NETWORK[body.network], index: body.index }),
        (w, out) => {
          account = toAccount(out.account ?? {});
          return need(deps.store, 'storage').updateWallet(w, out.sealedBlob?.length ? out.sealedBlob : w.sealedBlob, [...w.accounts, account]);
        },
        'fail',
      );
      res.status(201).json(account);
    }),
  );
  app.post(
    '/v1/wallets/:walletId/sign',
    route(async (req, res) => {
      const userId = await authenticate(req, res);
      const body = S.signBody.parse(req.body);
      const wallet = await loadWallet(userId, String(req.params.walletId));
      // EVM addresses compare case-insensitively (EIP-55 is only a checksum); base58 is case-sensitive.
      const sameAddress = (a: string, b: string): boolean => (body.network === 'evm' ? a.toLowerCase() === b.toLowerCase() : a === b);
      const account = body.address
        ? wallet.accounts.find((a) => a.network === body.network && sameAddress(a.address, body.address!))
        : wallet.accounts.find((a) => a.network === body.network && a.index === 0);
      if (!account) throw new EnclaveWalletError('ACCOUNT_NOT_FOUND', 'the wallet has no such account');
      const request: RequestOf<'sign'> = { userId, walletId: wallet.walletId, sealedBlob: wallet.sealedBlob, pinEnvelope: b64(body.pinEnvelope), network: NETWORK[body.network], address: account.address, accountIndex: account.index };
      if (body.network === 'evm' && body.kind === 'transaction') {
        const t = body.transaction;
        const str = (v: string | number | undefined): string => (v === undefined ? '' : String(v));
        request.evmTransaction = {
          type: TX_TYPE[t.type],
          chainId: Number(body.chainId),
          to: t.to ?? '',
          value: str(t.value),
          nonce: str(t.nonce),
          gas: str(t.gas),
          gasPrice: str(t.gasPrice),
          maxFeePerGas: str(t.maxFeePerGas),
          maxPriorityFeePerGas: str(t.maxPriorityFeePerGas),
          data: t.data ? Buffer.from(t.data.slice(2), 'hex') : new Uint8Array(0),
          accessList: t.accessList ?? [],
        };
      } else if (body.network === 'evm' && body.kind === 'message') {
        request.evmMessage = typeof body.message === 'string' ? { text: body.message } : { raw: Buffer.from(body.message.raw.slice(2), 'hex') };
      } else if (body.network === 'evm' && body.kind === 'typed-data') {
        request.evmTypedData = { json: JSON.stringify(body.typedData) };
      } else if (body.network === 'solana' && body.kind === 'transaction') {
        if (!body.transaction) throw new EnclaveWalletError('VALIDATION_FAILED', 'transaction: required for kind transaction');
        request.solanaTransaction = { wireTransaction: b64(body.transaction) };
      } else if (body.network === 'solana' && body.kind === 'message') {
        if (!body.message) throw new EnclaveWalletError('VALIDATION_FAILED', 'message: required for kind message');
        request.solanaMessage = { message: b64(body.message) };
      }
      const out = await withWallet(wallet, () => deps.enclave.call('sign', request), undefined, 'ignore');
      if (body.network === 'solana') {
        res.json({ signature: base58.encode(out.signature ?? new Uint8Array(0)), ...(out.signedTransaction?.length ? { signedTransaction: Buffer.from(out.signedTransaction).toString('base64') } : {}) });
      } else {
        res.json({ signature: hex(out.signature), ...(out.signedTransaction?.length ? { signedTransaction: hex(out.signedTransaction), hash: hex(out.hash) } : {}) });
      }
    }),
  );
  app.post(
    '/v1/wallets/:walletId/pin',
    route(async (req, res) => {
      const userId = await authenticate(req, res);
      const { pinEnvelope } = S.pinEnvelopeBody.parse(req.body);
      const wallet = await loadWallet(userId, String(req.params.walletId));
      // The guard already holds the new blob as the current version: a lost race here only delays the host's copy, which the next operation heals.
      await withWallet(wallet, () => deps.enclave.call('changePin', { userId, walletId: wallet.walletId, sealedBlob: wallet.sealedBlob, pinEnvelope: b64(pinEnvelope) }), undefined, 'ignore');
      res.status(204).end();
    }),
  );
  app.post(
    '/v1/wallets/:walletId/export',
    route(async (req, res) => {
      const userId = await authenticate(req, res);
      const body = S.exportBody.parse(req.body);
      const recipientPublicKey = b64(body.recipientPublicKey);
      if (recipientPublicKey.length !== 32) throw new EnclaveWalletError('RECIPIENT_KEY_INVALID', 'recipientPublicKey must be a 32-byte X25519 key');
      const wallet = await loadWallet(userId, String(req.params.walletId));
      const out = await withWallet(wallet, () => deps.enclave.call('export', { userId, walletId: wallet.walletId, sealedBlob: wallet.sealedBlob, pinEnvelope: b64(body.pinEnvelope), recipientPublicKey }), undefined, 'ignore');
      res.json({ encryptedRecoveryPhrase: Buffer.from(out.encryptedRecoveryPhrase ?? []).toString('base64') });
    }),
  );

  if (deps.demo) mountDemo(app, deps.demo);

  app.use((_req: Request, res: Response) => sendError(res, 'NOT_FOUND', 'no such route'));
  // Body-parser and other middleware errors.
  app.use((err: unknown, _req: Request, res: Response, _next: NextFunction) => {
    const e = err as { type?: string; status?: number };
    if (e?.type === 'entity.too.large') sendError(res, 'PAYLOAD_TOO_LARGE', `the body exceeds ${BODY_LIMIT_BYTES} bytes`);
    else if (e?.type === 'entity.parse.failed' || e?.status === 400) sendError(res, 'VALIDATION_FAILED', 'the body is not valid JSON');
    else sendFailure(res, err);
  });
  return app;
}
