/**
 * What every router shares: the dependencies, the rate limits, and the
 * helpers for authentication, loading a wallet, running an enclave operation
 * on it and turning failures into the API's error answer.
 */
import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import type { Request, Response } from 'express';
import type { ZodType } from 'zod';
import { EnclaveWalletError, networkFromProto, type ResponseOf, type v1 } from '@enclave-wallet/proto';
import type { AppDependencies } from '../app.js';
import { sendFailure } from '../api/http-errors.js';
import { parseBody } from '../api/schemas.js';
import { readJsonBody } from '../api/body.js';
import type { Metrics } from '../api/metrics.js';
import type { RateLimiter } from '../api/rate-limit.js';
import type { Account, WalletRecord } from '../storage/index.js';
import type { AccessClaims } from '../auth/tokens.js';
import { parseWalletId, type UserId, type WalletId } from '@enclave-wallet/proto/ids';

export type Handler = (req: Request, res: Response) => Promise<void>;

export const b64 = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, 'base64'));
/** The enclave call options that carry the HTTP request's id (EnclaveApi.call's `traceId`) into the enclave's log. */
export const traced = (res: Response): { traceId: string } => ({ traceId: res.locals.requestId as string });
export const hex = (b: Uint8Array | null | undefined): string => '0x' + Buffer.from(b ?? []).toString('hex');
/** An account as the enclave answered it; an unknown network is an error, never a default. */
export const toAccount = (a: v1.Account.$Properties): Account => ({
  network: networkFromProto(a.network),
  index: a.index ?? 0,
  path: a.path ?? '',
  address: a.address ?? '',
});
export const publicWallet = (w: WalletRecord): { walletId: string; accounts: Account[]; createdAt: string } => ({
  walletId: w.walletId,
  accounts: w.accounts,
  createdAt: w.createdAt,
});

export interface Limits {
  perIp: RateLimiter;
  auth: RateLimiter;
  perUser: RateLimiter;
}

export function routeContext(deps: AppDependencies, limits: Limits | undefined, metrics: Metrics, clientOf: (req: Request) => string) {
  /** Adds the duration of `work` to `host_phase_seconds{phase}` (the breakdown /metrics and the benchmark show). */
  const timed = async <T>(phase: 'auth' | 'storage_read' | 'enclave' | 'storage_write', work: () => Promise<T>): Promise<T> => {
    const started = performance.now();
    try {
      return await work();
    } finally {
      metrics.observe('host_phase_seconds', { phase }, (performance.now() - started) / 1000);
    }
  };
  const route = (fn: Handler) => (req: Request, res: Response) => {
    fn(req, res).catch((err: unknown) => sendFailure(res, err));
  };
  const need = <T>(value: T | undefined, what: string): T => {
    if (value === undefined) throw new EnclaveWalletError('UNSUPPORTED_OPERATION', `${what} is not configured on this host`);
    return value;
  };
  /** The caller's user and session, from the bearer access token (its session not revoked). */
  const authenticateSession = async (req: Request, res: Response): Promise<AccessClaims> => {
    const header = req.headers.authorization;
    const token = header?.startsWith('Bearer ') ? header.slice(7) : undefined;
    const claims = await timed('auth', () => need(deps.tokens, 'authentication').verifyAccess(token));
    res.locals.userId = claims.userId;
    limits?.perUser.hit(claims.userId);
    return claims;
  };
  const authenticate = async (req: Request, res: Response): Promise<UserId> => (await authenticateSession(req, res)).userId;
  /**
   * The request's JSON body, read now (never before the caller is authenticated or rate-limited) with the
   * route's `limit` (api/body.ts), and validated with `schema`.
   */
  const body = async <B>(schema: ZodType<B>, req: Request, limit: number): Promise<B> => {
    await readJsonBody(req, limit);
    return parseBody(schema, req);
  };
  /**
   * The caller's wallet `walletIdText` (a path parameter; this host's wallet ids are UUIDs). `read: 'recent'` may answer from the records this host read or wrote
   * lately (storage/wallets.ts): for operations a stale record cannot make wrong, such as signing.
   */
  const loadWallet = async (userId: UserId, walletIdText: string, read: 'fresh' | 'recent' = 'fresh'): Promise<WalletRecord> => {
    if (!/^[A-Za-z0-9-]{1,64}$/.test(walletIdText)) throw new EnclaveWalletError('WALLET_NOT_FOUND', 'no such wallet');
    const walletId = parseWalletId(walletIdText);
    const wallets = need(deps.store, 'storage').wallets;
    const wallet = await timed('storage_read', () => (read === 'recent' ? wallets.recent(userId, walletId) : wallets.get(userId, walletId)));
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
    const out = await timed('enclave', op);
    const save = store ?? (out.sealedBlob?.length ? (w: WalletRecord, o: T) => need(deps.store, 'storage').wallets.update(w, o.sealedBlob!) : undefined);
    try {
      if (save) await timed('storage_write', () => save(wallet, out));
    } catch (err) {
      if (!(onConflict === 'ignore' && err instanceof EnclaveWalletError && err.code === 'WALLET_CONFLICT')) throw err;
    }
    return out;
  };

  /** Has the enclave make a wallet (create or import) under a fresh id, and stores it. */
  const newWallet = async (userId: UserId, make: (walletId: WalletId) => Promise<ResponseOf<'createWallet'>>) => {
    const walletId = parseWalletId(randomUUID());
    const out = await make(walletId);
    const record = await need(deps.store, 'storage').wallets.create({
      walletId,
      userId,
      sealedBlob: out.sealedBlob!,
      accounts: (out.accounts ?? []).map(toAccount),
      createdAt: new Date().toISOString(),
    });
    // The recovery code, sealed to the client's key: passed through, never stored or logged.
    return {
      ...publicWallet(record),
      ...(out.encryptedRecoveryCode?.length ? { encryptedRecoveryCode: Buffer.from(out.encryptedRecoveryCode).toString('base64') } : {}),
    };
  };

  /**
   * A route on one of the caller's wallets (`:walletId`): authenticates,
   * reads the body (at most `limit` bytes) and validates it with `schema`, loads the wallet, then runs `fn`.
   */
  const walletRoute = <B>(
    schema: ZodType<B>,
    limit: number,
    fn: (call: { userId: UserId; body: B; wallet: WalletRecord; req: Request; res: Response }) => Promise<void>,
    read: 'fresh' | 'recent' = 'fresh',
  ) =>
    route(async (req, res) => {
      const userId = await authenticate(req, res);
      const parsed = await body(schema, req, limit);
      const wallet = await loadWallet(userId, String(req.params.walletId), read);
      await fn({ userId, body: parsed, wallet, req, res });
    });

  return { deps, limits, metrics, clientOf, route, walletRoute, need, authenticate, authenticateSession, body, loadWallet, withWallet, newWallet };
}

export type RouteContext = ReturnType<typeof routeContext>;
