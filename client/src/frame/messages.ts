/**
 * The wallet frame's message protocol (docs/frame.md), typed once for both sides: the app side
 * (./app.ts, `connectWallet`) and the frame side (./frame-side.ts, run by the frame page on the wallet's
 * own origin). Every message is a plain object that survives structured cloning (postMessage): bytes
 * travel as Uint8Array, errors as FrameError.
 *
 * What may cross: requests and their results, the frame's events. What never does: a PIN, a token of the
 * wallet's session, a recovery code; the frame answers with wallets and addresses, signatures and hashes.
 */
import { AttestationError } from '../attestation/verify.js';
import { EnclaveWalletApiError } from '../errors.js';
import { ProviderRpcError } from '../eip1193.js';
import { toHex } from '../proto-copy/bytes.js';
import type { Wallet } from '../types.js';

/** Tag and version of every message; anything else in the channel is ignored. */
export const FRAME_PROTOCOL = 'enclave-wallet-frame/1';

/** The calls the frame answers: parameters and result of each. */
export interface FrameCalls {
  /** Exchanges the app's OIDC ID token for a wallet session the frame keeps; the app learns who, not the tokens. */
  login: { params: { idToken: string }; result: { user: { id: string; email: string } } };
  logout: { params: Record<string, never>; result: null };
  /** The frame asks for a new PIN on its pad and shows the recovery code itself; the app gets the wallet without it. */
  createWallet: { params: Record<string, never>; result: Wallet };
  listWallets: { params: Record<string, never>; result: Wallet[] };
  /**
   * A forgotten PIN: the selected wallet's recovery code typed in the frame's popup (never in an iframe, where the app
   * can keep the keyboard's focus), a new PIN chosen, and the new recovery code shown there. The app learns it happened.
   */
  resetPin: { params: Record<string, never>; result: null };
  /** A new recovery code for the selected wallet, approved with the PIN on the pad and shown there; the old one stops working. */
  newRecoveryCode: { params: Record<string, never>; result: null };
  /** The wallet the provider and the Solana signer use (createWallet and listWallets select one too). */
  selectWallet: { params: { walletId: string }; result: { walletId: string; evm: string | null; solana: string | null } };
  /** An EIP-1193 request for the selected wallet's EVM account. */
  eip1193: { params: { method: string; params?: unknown[] | Record<string, unknown> }; result: unknown };
  solanaAddress: { params: Record<string, never>; result: string };
  solanaSignTransaction: { params: { wireTransaction: Uint8Array }; result: Uint8Array };
  solanaSignMessage: { params: { message: Uint8Array }; result: Uint8Array };
  solanaSignOffchainMessage: {
    params: { text: string; version?: 0 | 1; applicationDomain?: string };
    result: { signature: Uint8Array; signedMessage: Uint8Array };
  };
  solanaSignTransactions: { params: { messages: Uint8Array[] }; result: Array<Record<string, Uint8Array>> };
  solanaSignMessages: { params: { messages: Uint8Array[] }; result: Array<Record<string, Uint8Array>> };
}
export type FrameMethod = keyof FrameCalls;
export const FRAME_METHODS: readonly FrameMethod[] = [
  'login',
  'logout',
  'createWallet',
  'listWallets',
  'resetPin',
  'newRecoveryCode',
  'selectWallet',
  'eip1193',
  'solanaAddress',
  'solanaSignTransaction',
  'solanaSignMessage',
  'solanaSignOffchainMessage',
  'solanaSignTransactions',
  'solanaSignMessages',
];

/** An error as it crosses: enough to rebuild the SDK's error classes on the app side (errorFromWire). */
export interface FrameError {
  name: 'ProviderRpcError' | 'EnclaveWalletApiError' | 'AttestationError' | 'Error';
  /** ProviderRpcError: the EIP-1193 / EIP-1474 number; the others: the SDK's stable code. */
  code: number | string;
  message: string;
  status?: number;
  attemptsLeft?: number;
  retryAfter?: number;
  reason?: string;
  hash?: string;
  data?: unknown;
}

export interface FrameRequest<M extends FrameMethod = FrameMethod> {
  protocol: typeof FRAME_PROTOCOL;
  kind: 'request';
  id: string;
  method: M;
  params: FrameCalls[M]['params'];
}
export type FrameResponse =
  | { protocol: typeof FRAME_PROTOCOL; kind: 'response'; id: string; ok: true; result: unknown }
  | { protocol: typeof FRAME_PROTOCOL; kind: 'response'; id: string; ok: false; error: FrameError };

/**
 * The frame's events: `ready` (it listens), `show` / `hide` (it needs the user: the app side shows the
 * iframe over the page, then hides it), and the provider's `accountsChanged` / `chainChanged`.
 */
export type FrameEventName = 'ready' | 'show' | 'hide' | 'accountsChanged' | 'chainChanged';
export interface FrameEvent {
  protocol: typeof FRAME_PROTOCOL;
  kind: 'event';
  event: FrameEventName;
  data?: unknown;
}
export type FrameMessage = FrameRequest | FrameResponse | FrameEvent;

const EVENTS: readonly string[] = ['ready', 'show', 'hide', 'accountsChanged', 'chainChanged'];
const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** A well-formed request (known method, string id, object params), or undefined. */
export function asFrameRequest(data: unknown): FrameRequest | undefined {
  if (!isObject(data) || data.protocol !== FRAME_PROTOCOL || data.kind !== 'request') return undefined;
  if (typeof data.id !== 'string' || data.id.length === 0 || data.id.length > 100) return undefined;
  if (typeof data.method !== 'string' || !(FRAME_METHODS as readonly string[]).includes(data.method) || !isObject(data.params)) return undefined;
  return data as unknown as FrameRequest;
}

/** A well-formed response or event, or undefined. */
export function asFrameReply(data: unknown): FrameResponse | FrameEvent | undefined {
  if (!isObject(data) || data.protocol !== FRAME_PROTOCOL) return undefined;
  if (data.kind === 'response' && typeof data.id === 'string' && (data.ok === true || (data.ok === false && isObject(data.error))))
    return data as unknown as FrameResponse;
  if (data.kind === 'event' && typeof data.event === 'string' && EVENTS.includes(data.event)) return data as unknown as FrameEvent;
  return undefined;
}

/**
 * An allow-list of origins (APP_ORIGINS, or the wallet's origin): each entry a bare origin, `scheme://host[:port]`,
 * written exactly as the browser spells it (lower case, no default port, no trailing slash, no path). https only,
 * except http://localhost and http://127.0.0.1 (any port) for development. An entry that is not byte-identical to
 * its normalised origin is refused (TypeError), not rewritten: a look-alike host the URL parser would turn into
 * punycode, a path like `/%2e` it would drop, `0x7f.1` it would read as 127.0.0.1. A wildcard, `null` or another
 * scheme is refused too: an origin check that accepts more than it names is no check.
 */
export function parseOrigins(list: string | readonly string[]): string[] {
  const entries = (typeof list === 'string' ? list.split(',') : [...list]).map((o) => o.trim()).filter(Boolean);
  return entries.map((entry) => {
    let origin = 'null';
    try {
      origin = new URL(entry).origin;
    } catch {
      // not a URL: refused below
    }
    // `entry === origin` first: the test of the scheme and host below then reads a normalised origin.
    if (entry !== origin || entry.includes('*') || !/^(https:|http:\/\/(localhost|127\.0\.0\.1)(:|$))/.test(entry))
      throw new TypeError(`not an origin: ${JSON.stringify(entry)} (https://host[:port] as a browser writes it; http only on localhost, 127.0.0.1)`);
    return origin;
  });
}

/** Whether a message's origin is one of `allowed` (exact match of normalised origins). */
export function isAllowedOrigin(origin: string, allowed: readonly string[]): boolean {
  return origin !== 'null' && allowed.includes(origin);
}

/** A request id: random, so that an id cannot be guessed to answer another request. */
export function newRequestId(): string {
  const c = globalThis.crypto;
  if (c?.randomUUID) return c.randomUUID();
  const b = new Uint8Array(16);
  c.getRandomValues(b);
  return toHex(b);
}

export const request = <M extends FrameMethod>(id: string, method: M, params: FrameCalls[M]['params']): FrameRequest<M> => ({
  protocol: FRAME_PROTOCOL,
  kind: 'request',
  id,
  method,
  params,
});
export const event = (name: FrameEventName, data?: unknown): FrameEvent => ({
  protocol: FRAME_PROTOCOL,
  kind: 'event',
  event: name,
  ...(data !== undefined ? { data } : {}),
});
export const success = (id: string, result: unknown): FrameResponse => ({ protocol: FRAME_PROTOCOL, kind: 'response', id, ok: true, result });
export const failure = (id: string, err: unknown): FrameResponse => ({ protocol: FRAME_PROTOCOL, kind: 'response', id, ok: false, error: errorToWire(err) });

/** Only data that clones: anything else (a function, a class instance with a cycle) is dropped. */
function cloneable(v: unknown): unknown {
  try {
    return JSON.parse(JSON.stringify(v, (_k, x: unknown) => (typeof x === 'bigint' ? x.toString() : x))) as unknown;
  } catch {
    return undefined;
  }
}

/** An error as it crosses to the app: its class, code and the fields the SDK's error classes carry; no stack, no cause. */
export function errorToWire(err: unknown): FrameError {
  if (err instanceof ProviderRpcError) {
    const data = err.data === undefined ? undefined : cloneable(err.data);
    return { name: 'ProviderRpcError', code: err.code, message: err.message, ...(data !== undefined ? { data } : {}) };
  }
  if (err instanceof EnclaveWalletApiError) {
    return {
      name: 'EnclaveWalletApiError',
      code: err.code,
      message: err.message,
      status: err.status,
      ...(err.attemptsLeft !== undefined ? { attemptsLeft: err.attemptsLeft } : {}),
      ...(err.retryAfter !== undefined ? { retryAfter: err.retryAfter } : {}),
      ...(err.reason !== undefined ? { reason: err.reason } : {}),
      ...(err.hash !== undefined ? { hash: err.hash } : {}),
    };
  }
  if (err instanceof AttestationError) return { name: 'AttestationError', code: err.code, message: err.message };
  const code = (err as { code?: unknown } | null)?.code;
  return {
    name: 'Error',
    code: typeof code === 'string' && /^[A-Z][A-Z0-9_]{0,63}$/.test(code) ? code : 'FRAME_ERROR',
    message: err instanceof Error ? err.message : String(err),
  };
}

/** The SDK's error class back from the wire: ProviderRpcError, EnclaveWalletApiError, AttestationError, or an Error with `code`. */
export function errorFromWire(e: FrameError): Error {
  const message = typeof e.message === 'string' ? e.message : 'the wallet frame failed';
  if (e.name === 'ProviderRpcError' && typeof e.code === 'number') return new ProviderRpcError(e.code, message, e.data);
  if (e.name === 'EnclaveWalletApiError' && typeof e.code === 'string') {
    return new EnclaveWalletApiError({
      code: e.code,
      message,
      status: typeof e.status === 'number' ? e.status : 0,
      ...(typeof e.attemptsLeft === 'number' ? { attemptsLeft: e.attemptsLeft } : {}),
      ...(typeof e.retryAfter === 'number' ? { retryAfter: e.retryAfter } : {}),
      ...(typeof e.reason === 'string' ? { reason: e.reason } : {}),
      ...(typeof e.hash === 'string' ? { hash: e.hash } : {}),
    });
  }
  if (e.name === 'AttestationError' && typeof e.code === 'string')
    return new AttestationError(e.code as ConstructorParameters<typeof AttestationError>[0], message);
  return Object.assign(new Error(message), { code: typeof e.code === 'string' ? e.code : 'FRAME_ERROR' });
}

/** The user closed the PIN pad: EIP-1193's "user rejected the request". */
export const userRejected = (): ProviderRpcError => new ProviderRpcError(4001, 'the user rejected the request');
