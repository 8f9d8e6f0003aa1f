/**
 * The client's session and transport (SPEC §9): login, the refresh that keeps the session alive, logout, and the
 * one function every API call goes through (typed errors, retries of reads, one refresh on a 401).
 */
import { dropContextAhead } from './envelope.js';
import { EnclaveWalletApiError } from './errors.js';
import { deadline, within } from './deadline.js';
import { apiTransport } from './node-http.js';
import { rpcNotConfigured } from './nodes.js';
import { toBase64Url } from './proto-copy/passkey.js';
import type { ChainRef, ClientOptions, Session, User } from './types.js';

const REFRESH_MARGIN_MS = 30_000;

/**
 * How long one API call may take by default, from its first request to the end of its last answer (a refresh and
 * a retry included). Above the host's own worst case, about 170 s for a send whose every storage call waits out
 * its deadline (docs/api.md, "How long an answer may take"), so that an answer on its way is not given up on; below
 * forever, which is how long a browser's fetch may wait on a connection that went away without a word (a phone
 * changing networks).
 */
export const API_REQUEST_TIMEOUT_MS = 180_000;

export class SessionClient {
  protected readonly baseUrl: string;
  protected readonly fetcher: typeof fetch;
  protected readonly now: () => number;
  private readonly requestTimeoutMs: number;
  private sessionState: Session | undefined;
  private refreshing: Promise<Session> | undefined;
  /** Bumped when the session is replaced or ended (login, setSession, logout): a refresh's answer for the one before is not kept. */
  private epoch = 0;
  /** The last try number sent for the session's unanswered refresh (tries are numbered by the clock, never back). */
  private lastTry = 0;
  /** The app's onSession calls, one after the other (a save that finishes late must not overwrite a newer one). */
  private announced: Promise<void> = Promise.resolve();

  constructor(protected readonly options: ClientOptions) {
    this.baseUrl = options.baseUrl.replace(/\/+$/, '');
    const f = options.fetch ?? globalThis.fetch;
    if (!f) throw new TypeError('no fetch: pass options.fetch');
    this.fetcher = f.bind(globalThis);
    this.now = options.now ?? Date.now;
    const timeout = options.requestTimeoutMs ?? API_REQUEST_TIMEOUT_MS;
    if (!Number.isInteger(timeout) || timeout < 1 || timeout > 2_147_483_647)
      throw new TypeError('requestTimeoutMs must be a whole number of milliseconds, 1 to 2147483647');
    this.requestTimeoutMs = timeout;
  }

  /**
   * The app's node for a chain (`options.rpc`).
   * @throws {EnclaveWalletApiError} RPC_NOT_CONFIGURED when there is none
   * @internal
   */
  nodeUrl(chain: ChainRef): string {
    const url = chain.network === 'evm' ? this.options.rpc?.evm?.[chain.chainId] : this.options.rpc?.solana?.[chain.cluster];
    if (typeof url === 'string' && url) return url;
    throw chain.network === 'evm'
      ? rpcNotConfigured(`EVM chain ${chain.chainId}`, `rpc.evm[${chain.chainId}]`)
      : rpcNotConfigured(`Solana cluster ${chain.cluster}`, `rpc.solana['${chain.cluster}']`);
  }

  /** The fetch the SDK reads the app's nodes with. @internal */
  get nodeFetch(): typeof fetch {
    return this.fetcher;
  }

  /** The current session, if logged in. */
  get session(): Session | undefined {
    return this.sessionState;
  }

  /** Uses a session saved earlier (e.g. from storage, as onSession gave it: an unanswered refresh's attempt included). */
  setSession(session: Session | undefined): void {
    this.epoch++;
    this.lastTry = 0;
    this.sessionState = session === undefined ? undefined : { ...session };
  }

  /** Exchanges an OIDC ID token for a session. */
  async login(idToken: string): Promise<Session> {
    const answer = await this.request<{ accessToken: string; refreshToken: string; expiresIn: number; user: User }>('POST', '/v1/auth/login', {
      body: { idToken },
      auth: false,
    });
    this.epoch++;
    return this.keep(answer);
  }

  /**
   * Rotates the refresh token (done by itself before the access token expires and once on a 401). A refresh whose
   * answer was lost (the network, a 503, its deadline) may be called again: it is the same refresh's next try.
   */
  refresh(): Promise<Session> {
    if (!this.sessionState) return Promise.reject(new EnclaveWalletApiError({ code: 'UNAUTHENTICATED', message: 'not logged in', status: 401 }));
    // One refresh at a time: the server revokes a refresh token presented twice but for a later try of one refresh.
    this.refreshing ??= this.refreshOnce().finally(() => {
      this.refreshing = undefined;
    });
    return this.refreshing;
  }

  private async refreshOnce(): Promise<Session> {
    const epoch = this.epoch;
    const current = this.sessionState!;
    const { refreshToken } = current;
    let id = current.refreshAttempt;
    if (id === undefined) {
      // A new refresh: its id, told to the app with the session, so that a restart can still try it again.
      id = toBase64Url(crypto.getRandomValues(new Uint8Array(16)));
      this.sessionState = { ...current, refreshAttempt: id };
      this.announce(this.sessionState);
    }
    const attemptId = id;
    try {
      // Sent again once if its answer is lost (the network, or a 503): each send is a try of its own, numbered by the
      // clock (never below the last one) so that a try after a restart still comes after every try before it.
      const answer = await this.request<{ accessToken: string; refreshToken: string; expiresIn: number; user: User }>('POST', '/v1/auth/refresh', {
        body: () => ({ refreshToken, attempt: { id: attemptId, n: (this.lastTry = Math.max(this.lastTry + 1, Date.now())) } }),
        auth: false,
        resendable: true,
      });
      if (this.epoch !== epoch)
        throw new EnclaveWalletApiError({ code: 'UNAUTHENTICATED', message: 'the session was replaced or ended while it was being refreshed', status: 401 });
      return this.keep(answer);
    } catch (err) {
      // The host's verdict on the token ends the attempt; anything else (a lost answer, a rate limit, a proxy's
      // refusal) leaves it for the next refresh, which is its next try.
      const verdict = err instanceof EnclaveWalletApiError && ['TOKEN_INVALID', 'TOKEN_EXPIRED', 'TOKEN_REVOKED'].includes(err.code);
      const held = this.sessionState;
      if (verdict && this.epoch === epoch && held !== undefined && held.refreshAttempt === attemptId) {
        const { refreshAttempt: _over, ...rest } = held;
        this.sessionState = rest;
      }
      throw err;
    }
  }

  /**
   * Ends the session on the host (`POST /v1/auth/logout`: its refresh token at once, its access tokens on every
   * host within seconds), then forgets it. A session the host already refuses (401) counts as ended. The envelope
   * context made ahead (envelope.ts) is dropped too.
   */
  async logout(): Promise<void> {
    dropContextAhead();
    if (!this.sessionState) return;
    try {
      await this.request('POST', '/v1/auth/logout');
    } catch (err) {
      if (!(err instanceof EnclaveWalletApiError && err.status === 401)) throw err;
    } finally {
      const had = this.sessionState !== undefined;
      this.epoch++;
      this.sessionState = undefined;
      if (had) this.announce(undefined);
    }
  }

  private keep(a: { accessToken: string; refreshToken: string; expiresIn: number; user: User }): Session {
    this.lastTry = 0;
    this.sessionState = { accessToken: a.accessToken, refreshToken: a.refreshToken, expiresAt: this.now() + a.expiresIn * 1000, user: a.user };
    this.announce(this.sessionState);
    return this.sessionState;
  }

  /** Tells the app (`onSession`) of a new session or of none, one call after the other; its failure is its own. */
  private announce(session: Session | undefined): void {
    const told = this.options.onSession;
    if (!told) return;
    const copy = session === undefined ? undefined : { ...session, user: { ...session.user } };
    this.announced = this.announced
      .then(() => told(copy) as unknown) // an async save is waited for before the next one
      .then(undefined, (err: unknown) => console.error('onSession failed (the SDK keeps the session all the same):', err));
  }

  /**
   * One API call. Authenticated calls refresh the session shortly before it
   * expires, and once on a 401 (the host answers 401 before anything reaches
   * the enclave, so even a request carrying an envelope is safe to send
   * again). Reads, and calls marked `resendable` (a refresh, whose body is
   * made again for each send), are sent again once after a network failure or
   * a 503; a request that may have consumed an envelope never is. The whole call, its refresh
   * and its retries included, ends within `requestTimeoutMs` (TIMEOUT).
   */
  protected async request<T>(
    method: 'GET' | 'POST' | 'DELETE',
    path: string,
    o: { body?: unknown; auth?: boolean; consumesEnvelope?: boolean; resendable?: boolean } = {},
  ): Promise<T> {
    const limit = deadline(this.requestTimeoutMs);
    try {
      return await this.requestWithin<T>(limit.signal, method, path, o);
    } finally {
      limit.clear();
    }
  }

  private async requestWithin<T>(
    signal: AbortSignal,
    method: 'GET' | 'POST' | 'DELETE',
    path: string,
    o: { body?: unknown; auth?: boolean; consumesEnvelope?: boolean; resendable?: boolean },
  ): Promise<T> {
    // What a call cut by its deadline says: only a read is known to have changed nothing.
    const timedOut = (cause: unknown): EnclaveWalletApiError => {
      const unknown = method === 'GET' && !o.consumesEnvelope ? '' : '; whether it was carried out is not known';
      const message = `no answer from the API at ${this.baseUrl} to ${method} ${path} within ${this.requestTimeoutMs / 1000} s${unknown}`;
      return new EnclaveWalletApiError({ code: 'TIMEOUT', message, status: 0, cause });
    };
    // A refresh is a call of its own (shared by the calls that wait for it), waited for within this call's deadline.
    const refreshWithin = async (): Promise<void> => {
      try {
        await within(this.refresh(), signal);
      } catch (err) {
        throw signal.aborted && !(err instanceof EnclaveWalletApiError) ? timedOut(err) : err;
      }
    };
    const auth = o.auth ?? true;
    if (auth) {
      if (!this.sessionState) throw new EnclaveWalletApiError({ code: 'UNAUTHENTICATED', message: 'log in first', status: 401 });
      if (this.sessionState.expiresAt - this.now() < REFRESH_MARGIN_MS) await refreshWithin();
    }
    // One attempt: sent, and its answer read whole, before the call's deadline.
    const send = async (): Promise<{ status: number; ok: boolean; text: string }> => {
      const headers: Record<string, string> = { accept: 'application/json' };
      const body: unknown = typeof o.body === 'function' ? (o.body as () => unknown)() : o.body;
      if (body !== undefined) headers['content-type'] = 'application/json';
      if (auth && this.sessionState) headers.authorization = `Bearer ${this.sessionState.accessToken}`;
      try {
        const transport = this.options.fetch ? this.fetcher : await apiTransport(this.fetcher);
        const res = await within(
          transport(this.baseUrl + path, { method, headers, ...(body !== undefined ? { body: JSON.stringify(body) } : {}), signal }),
          signal,
        );
        return { status: res.status, ok: res.ok, text: await within(res.text(), signal) };
      } catch (cause) {
        if (signal.aborted) throw timedOut(cause);
        // In a browser a refused CORS check fails the same way as a network that is down, and says why only in the console.
        const page = typeof location === 'object' && typeof location?.origin === 'string' && location.origin !== 'null' ? location.origin : undefined;
        const message = page
          ? `the API at ${this.baseUrl} could not be reached from ${page}: the network, or the API does not answer CORS for this origin (the host's FRAME_ORIGIN)`
          : `the API at ${this.baseUrl} could not be reached`;
        throw new EnclaveWalletApiError({ code: 'NETWORK_ERROR', message, status: 0, cause });
      }
    };
    const resendable = (method === 'GET' || o.resendable === true) && !o.consumesEnvelope;
    let res: { status: number; ok: boolean; text: string };
    try {
      res = await send();
      if (resendable && res.status === 503) res = await send();
    } catch (err) {
      // Sent again once after a network failure, not after its deadline.
      if (!resendable || (err instanceof EnclaveWalletApiError && err.code === 'TIMEOUT')) throw err;
      res = await send();
    }
    if (res.status === 401 && auth && this.sessionState) {
      await refreshWithin();
      res = await send();
    }
    const text = res.text;
    let json: unknown;
    try {
      json = text ? JSON.parse(text) : undefined;
    } catch (cause) {
      // Not the API's answer (a proxy's or a portal's page): an error, not an empty result.
      if (res.ok)
        throw new EnclaveWalletApiError({
          code: 'INVALID_RESPONSE',
          message: `the API answered ${res.status} with a body that is not JSON`,
          status: res.status,
          cause,
        });
      json = undefined;
    }
    if (!res.ok) {
      const e = (
        json as
          | { error?: { code?: string; message?: string; requestId?: string; attemptsLeft?: number; retryAfter?: number; reason?: string; hash?: string } }
          | undefined
      )?.error;
      throw new EnclaveWalletApiError({
        code: e?.code ?? `HTTP_${res.status}`,
        message: e?.message ?? `the API answered ${res.status}`,
        status: res.status,
        ...(e?.requestId ? { requestId: e.requestId } : {}),
        ...(e?.attemptsLeft !== undefined ? { attemptsLeft: e.attemptsLeft } : {}),
        ...(e?.retryAfter !== undefined ? { retryAfter: e.retryAfter } : {}),
        ...(typeof e?.reason === 'string' ? { reason: e.reason } : {}),
        ...(typeof e?.hash === 'string' ? { hash: e.hash } : {}),
      });
    }
    return json as T;
  }
}
