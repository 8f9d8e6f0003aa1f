/// <reference lib="dom" />
/**
 * The app side of the wallet frame (docs/frame.md): `connectWallet` embeds the frame, served from the wallet's
 * own origin, in an iframe (or, where no frame can be shown, a popup), and gives the app an EIP-1193 provider,
 * a Solana signer and the account calls, each a request to the frame by postMessage. The PIN is typed in the
 * frame, on its origin: the app's scripts never see it, nor the session's tokens, nor a recovery code.
 *
 * Messages go only to the frame's origin, and only messages from the frame's window and origin are read.
 */
import type { Eip1193Provider } from '../eip1193.js';
import type { SolanaAddress, SolanaSignatureDictionary, SolanaSigner } from '../solana.js';
import type { Wallet } from '../types.js';
import { asFrameReply, errorFromWire, newRequestId, parseOrigins, request, type FrameCalls, type FrameEvent, type FrameMethod } from './messages.js';

/** EIP-6963 provider info (https://eips.ethereum.org/EIPS/eip-6963). */
export interface Eip6963ProviderInfo {
  uuid: string;
  name: string;
  /** A data: URI (RFC 2397) of a square image. */
  icon: string;
  /** Reverse-DNS id of the wallet. */
  rdns: string;
}

export interface ConnectWalletOptions {
  /** The frame's origin, e.g. https://wallet-frame.example.com (locally http://localhost:8081). */
  walletOrigin: string;
  /** Passed to the frame, which applies what it accepts: `theme` and `accent` (a #rrggbb colour). */
  appearance?: { theme?: 'dark' | 'light'; accent?: string };
  /** `iframe` (default `auto`: an iframe, or a popup when the frame does not answer in it), or `popup`. */
  mode?: 'auto' | 'iframe' | 'popup';
  /** The frame page's path on its origin (default `/`). */
  path?: string;
  /** How long to wait for the frame to say it is ready (default 10 s). */
  readyTimeoutMs?: number;
  /** The element the iframe goes into (default document.body). */
  container?: HTMLElement;
  /** EIP-6963 announcement: on by default, with this info (a fresh uuid per connection); `false` to stay silent. */
  announce?: false | Partial<Omit<Eip6963ProviderInfo, 'uuid'>>;
}

/** The Solana signer of the selected wallet, its signatures made in the frame. */
export type FrameSolanaSigner = SolanaSigner;

export interface WalletConnection {
  /** EIP-1193: every request goes to the frame (signatures ask for the PIN there). */
  readonly provider: Eip1193Provider;
  /** The EIP-6963 info the provider is announced with. */
  readonly info: Eip6963ProviderInfo;
  /** How the frame is shown. */
  readonly mode: 'iframe' | 'popup';
  /** Logs in with the app's OIDC ID token: the frame keeps the session; the app learns the user. */
  login(idToken: string): Promise<{ user: { id: string; email: string } }>;
  logout(): Promise<void>;
  /** A new wallet: the PIN is chosen in the frame and the recovery code shown there. Selects it. */
  createWallet(): Promise<Wallet>;
  /** The user's wallets; selects the first when none is selected. */
  listWallets(): Promise<Wallet[]>;
  /**
   * A forgotten PIN, for the selected wallet: the user types the recovery code in the frame, chooses a new PIN and is
   * shown the new code there. Only in popup mode (FRAME_POPUP_REQUIRED in an iframe: there the page could keep the
   * keyboard's focus and read the code).
   */
  resetPin(): Promise<void>;
  /**
   * A new recovery code for the selected wallet (the user lost theirs, or closed the window before writing down the
   * one a reset made): approved with the PIN on the frame's pad and shown there; the old code stops working.
   */
  newRecoveryCode(): Promise<void>;
  selectWallet(walletId: string): Promise<{ walletId: string; evm: string | null; solana: string | null }>;
  /** The selected wallet's Solana signer (a @solana/kit TransactionPartialSigner and MessagePartialSigner). */
  solanaSigner(): Promise<FrameSolanaSigner>;
  /** Removes the frame (or closes the popup) and stops listening; pending requests fail. */
  close(): void;
}

const DEFAULT_INFO = {
  name: 'Enclave Wallet',
  rdns: 'org.enclave-wallet',
  // A small square mark (SVG), as EIP-6963 asks: a data URI (RFC 2397).
  icon: "data:image/svg+xml,%3Csvg%20xmlns='http://www.w3.org/2000/svg'%20viewBox='0%200%2096%2096'%3E%3Crect%20width='96'%20height='96'%20rx='20'%20fill='%235b8cff'/%3E%3Cpath%20d='M28%2042v-8a20%2020%200%200%201%2040%200v8'%20stroke='%23fff'%20stroke-width='8'%20fill='none'/%3E%3Crect%20x='22'%20y='42'%20width='52'%20height='36'%20rx='6'%20fill='%23fff'/%3E%3C/svg%3E",
};

/** An error of the app side, with a stable code. */
export class WalletFrameError extends Error {
  override readonly name = 'WalletFrameError';
  constructor(
    readonly code: 'FRAME_UNAVAILABLE' | 'FRAME_CLOSED' | 'NO_WALLET_SELECTED' | 'FRAME_NOT_VISIBLE' | 'FRAME_POPUP_REQUIRED',
    message: string,
  ) {
    super(message);
  }
}

/** The page's connections, made or being made, by wallet origin, path and mode asked for: see connectWallet. */
const connections = new Map<string, Connecting>();
/** `window`: the frame's window as soon as it exists (the iframe's, or the popup), still loading or not. */
type Connecting = { made: Promise<WalletConnection>; window?: Window; connection?: WalletConnection; closed: boolean };

/**
 * Embeds the wallet frame and resolves once it answers. Needs a browser (window, document).
 *
 * One frame per wallet origin, path and `mode` on a page: a call while an earlier one with the same three is still
 * being made, or its connection is open, gets that same connection (a double click on "Connect" shows one frame, not
 * two), whatever its other options (they are the first call's). After `close()`, or once its popup was closed or its
 * iframe removed (also while it was still loading), a call makes a new one. Another `mode` (`popup` after an iframe
 * refused a hidden pad: FRAME_NOT_VISIBLE) is a connection of its own.
 * @throws {WalletFrameError} FRAME_UNAVAILABLE when the frame did not come up (not allowed to embed it, popup blocked);
 *   FRAME_CLOSED when its popup was closed, or its iframe removed, before it answered
 */
export function connectWallet(options: ConnectWalletOptions): Promise<WalletConnection> {
  let walletOrigin: string | undefined;
  try {
    [walletOrigin] = parseOrigins(options.walletOrigin);
  } catch (err) {
    return Promise.reject(err);
  }
  if (!walletOrigin) return Promise.reject(new TypeError('walletOrigin is required'));
  let page: URL;
  try {
    page = new URL(options.path ?? '/', walletOrigin);
  } catch (err) {
    return Promise.reject(err);
  }
  // The page as the browser would load it ('', '/' and '/?' are one page).
  const key = JSON.stringify([`${page.origin}${page.pathname}${page.search}`, options.mode ?? 'auto']);
  const known = connections.get(key);
  if (known && !known.closed && !known.window?.closed) return known.made;
  // Its window is gone (a popup the user closed, an iframe the page removed): stop listening to it, and start again.
  known?.connection?.close();
  const entry = { closed: false } as Connecting;
  entry.made = makeConnection(
    walletOrigin,
    options,
    (window) => (entry.window = window),
    () => {
      entry.closed = true;
      if (connections.get(key) === entry) connections.delete(key);
    },
  ).then(
    (made) => (entry.connection = made),
    (err: unknown) => {
      if (connections.get(key) === entry) connections.delete(key);
      throw err;
    },
  );
  connections.set(key, entry);
  return entry.made;
}

async function makeConnection(
  walletOrigin: string,
  options: ConnectWalletOptions,
  onWindow: (window: Window) => void,
  onClose: () => void,
): Promise<WalletConnection> {
  const url = new URL(options.path ?? '/', walletOrigin);
  if (options.appearance?.theme) url.searchParams.set('theme', options.appearance.theme);
  if (options.appearance?.accent) url.searchParams.set('accent', options.appearance.accent);
  const timeout = options.readyTimeoutMs ?? 10_000;
  const mode = options.mode ?? 'auto';

  let shown: ShownFrame | undefined;
  // What each way of showing it met, for FRAME_UNAVAILABLE's message.
  const met: string[] = [];
  let noAnswer = false;
  if (mode !== 'popup') {
    const iframe = document.createElement('iframe');
    iframe.src = url.href;
    iframe.title = 'Enclave Wallet';
    // Passkeys (WebAuthn) in the frame: the frame's origin may ask for them, nobody else.
    iframe.allow = `publickey-credentials-get ${walletOrigin}; publickey-credentials-create ${walletOrigin}`;
    Object.assign(iframe.style, {
      position: 'fixed',
      inset: '0',
      width: '100%',
      height: '100%',
      border: '0',
      zIndex: '2147483647',
      colorScheme: 'normal',
      background: 'transparent',
      display: 'none',
    });
    (options.container ?? document.body).appendChild(iframe);
    const target = iframe.contentWindow;
    if (target) onWindow(target);
    const answer = target ? await readyFrom(target, walletOrigin, timeout) : 'timeout';
    if (target && answer === 'ready') shown = { mode: 'iframe', target, iframe, close: () => iframe.remove() };
    else iframe.remove();
    // The page removed the iframe while it loaded: that ends this call (no popup in its place).
    if (answer === 'closed') throw new WalletFrameError('FRAME_CLOSED', 'the wallet frame was removed before it answered');
    if (answer === 'timeout') {
      met.push(`as an iframe it did not answer within ${timeout / 1000} s`);
      noAnswer = true;
    }
  }
  if (!shown && mode !== 'iframe') {
    url.searchParams.set('mode', 'popup');
    // A window of its own per connection ('_blank'): a named one would be taken over by the next connection's popup.
    const popup = window.open(url.href, '_blank', 'popup,width=420,height=680');
    if (popup) onWindow(popup);
    const answer = popup ? await readyFrom(popup, walletOrigin, timeout) : 'timeout';
    if (popup && answer === 'ready') shown = { mode: 'popup', target: popup, close: () => popup.close() };
    else popup?.close();
    if (answer === 'closed') throw new WalletFrameError('FRAME_CLOSED', 'the wallet popup was closed before it answered');
    if (!popup) met.push('the browser blocked its popup (open it from a click or a tap: mode popup)');
    else if (answer === 'timeout') {
      met.push(`as a popup it did not answer within ${timeout / 1000} s`);
      noAnswer = true;
    }
  }
  if (!shown) {
    // A frame that loads answers only pages of the origins it is configured for (APP_ORIGINS); an iframe of another
    // origin is not even shown (frame-ancestors), and neither case can be told from a frame that is not reachable.
    const hint = noAnswer ? `: is this page's origin (${location.origin}) in the frame's APP_ORIGINS, and is ${walletOrigin} reachable?` : '';
    throw new WalletFrameError('FRAME_UNAVAILABLE', `the wallet frame at ${walletOrigin} did not come up: ${met.join('; ')}${hint}`);
  }
  return connection(shown, walletOrigin, { ...options, onClose });
}

/** `ready` once `target` posts `ready` from `origin`; `timeout` after `ms`; `closed` once the window is closed (a popup the user closed while it loaded, an iframe the page removed). */
function readyFrom(target: Window, origin: string, ms: number): Promise<'ready' | 'closed' | 'timeout'> {
  return new Promise((resolve) => {
    const done = (answer: 'ready' | 'closed' | 'timeout'): void => {
      clearTimeout(timer);
      clearInterval(watch);
      window.removeEventListener('message', onMessage);
      resolve(answer);
    };
    const onMessage = (e: MessageEvent): void => {
      if (e.source !== target || e.origin !== origin) return;
      const reply = asFrameReply(e.data);
      if (reply?.kind === 'event' && reply.event === 'ready') done('ready');
    };
    const timer = setTimeout(() => done('timeout'), ms);
    const watch = setInterval(() => target.closed && done('closed'), CLOSED_WATCH_MS);
    window.addEventListener('message', onMessage);
  });
}

/** How often a loading frame's window is looked at for having been closed (readyFrom). */
const CLOSED_WATCH_MS = 250;
/** How often the frame's window is looked at for having been closed, while requests are in flight. */
const WATCH_MS = 500;
/** How long after the window is seen closed its requests are failed: time for a reply already posted to arrive. */
const CLOSED_GRACE_MS = 250;

/** The frame's window once it answered, as `connectWallet` shows it. */
type ShownFrame = { mode: 'iframe' | 'popup'; target: Window; iframe?: HTMLIFrameElement; close(): void };
/** Requests waiting for their reply, by id. */
type Pending = Map<string, { resolve(v: unknown): void; reject(e: unknown): void }>;
/** The provider's event listeners, by event. */
type Listeners = Map<string, Set<(...args: unknown[]) => void>>;
/** One request to the frame, resolved or rejected with its reply. */
type Call = <M extends FrameMethod>(method: M, params: FrameCalls[M]['params']) => Promise<FrameCalls[M]['result']>;

/** The connection over one frame window: requests by id, replies matched by id, from that window and origin only. */
export function connection(
  shown: ShownFrame,
  walletOrigin: string,
  options: Pick<ConnectWalletOptions, 'announce'> & { onClose?: () => void } = {},
): WalletConnection {
  const pending: Pending = new Map();
  const listeners: Listeners = new Map();
  let closed = false;
  /** Fails every request in flight: their replies cannot come any more. */
  const lose = (message: string): void => {
    for (const p of pending.values()) p.reject(new WalletFrameError('FRAME_CLOSED', message));
    pending.clear();
  };
  // The frame's document started again (reloaded, navigated): what it was answering, and its session, are gone.
  const onMessage = replyListener(shown, walletOrigin, pending, listeners, () => {
    lose('the wallet frame reloaded: log in again');
    listeners.get('accountsChanged')?.forEach((l) => l([]));
  });
  window.addEventListener('message', onMessage);
  // A popup the user closes while it asks (the pad, a recovery code), or an iframe the page removed, ends the requests
  // instead of leaving them pending: looked at only while some are in flight, and given a moment after it is seen
  // closed, for a reply posted just before to arrive (it comes from another process).
  let watch: ReturnType<typeof setInterval> | undefined;
  const unwatch = (): void => {
    clearInterval(watch);
    watch = undefined;
  };
  const watchTarget = (): void => {
    if (watch) return;
    watch = setInterval(() => {
      if (shown.target.closed) {
        unwatch();
        setTimeout(() => lose(shown.mode === 'popup' ? 'the wallet popup was closed' : 'the wallet frame was removed'), CLOSED_GRACE_MS);
      } else if (pending.size === 0) unwatch();
    }, WATCH_MS);
  };

  const call: Call = (method, params) => {
    if (closed) return Promise.reject(new WalletFrameError('FRAME_CLOSED', 'the wallet frame was closed'));
    if (shown.mode === 'popup' && shown.target.closed) return Promise.reject(new WalletFrameError('FRAME_CLOSED', 'the wallet popup was closed'));
    const id = newRequestId();
    return new Promise((resolve, reject) => {
      // Posted first: params the browser cannot copy throw here, and nothing is left waiting for them.
      shown.target.postMessage(request(id, method, params), walletOrigin);
      pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      watchTarget();
    });
  };

  const provider = frameProvider(call, listeners);
  const info: Eip6963ProviderInfo = Object.freeze({
    uuid: newRequestId().replace(/^([0-9a-f]{8})-?([0-9a-f]{4})-?([0-9a-f]{4})-?([0-9a-f]{4})-?([0-9a-f]{12})$/, '$1-$2-$3-$4-$5'),
    name: (options.announce && options.announce.name) || DEFAULT_INFO.name,
    icon: (options.announce && options.announce.icon) || DEFAULT_INFO.icon,
    rdns: (options.announce && options.announce.rdns) || DEFAULT_INFO.rdns,
  });
  const announce = (): void => {
    window.dispatchEvent(new CustomEvent('eip6963:announceProvider', { detail: Object.freeze({ info, provider }) }));
  };
  if (options.announce !== false) {
    window.addEventListener('eip6963:requestProvider', announce);
    announce();
  }

  return {
    provider,
    info,
    mode: shown.mode,
    login: (idToken) => call('login', { idToken }),
    logout: async () => void (await call('logout', {})),
    createWallet: () => call('createWallet', {}),
    listWallets: () => call('listWallets', {}),
    resetPin: async () => void (await call('resetPin', {})),
    newRecoveryCode: async () => void (await call('newRecoveryCode', {})),
    selectWallet: (walletId) => call('selectWallet', { walletId }),
    solanaSigner: () => frameSolanaSigner(call),
    close() {
      if (closed) return;
      closed = true;
      window.removeEventListener('message', onMessage);
      window.removeEventListener('eip6963:requestProvider', announce);
      lose('the wallet frame was closed');
      unwatch();
      shown.close();
      options.onClose?.();
    },
  };
}

/** Reads the frame's messages: replies settle their pending request, events show or hide the iframe or reach the provider's listeners. */
function replyListener(shown: ShownFrame, walletOrigin: string, pending: Pending, listeners: Listeners, onRestart: () => void): (e: MessageEvent) => void {
  const onEvent = (e: FrameEvent): void => {
    if (e.event === 'ready') onRestart();
    else if (e.event === 'show' && shown.iframe) shown.iframe.style.display = 'block';
    else if (e.event === 'hide' && shown.iframe) shown.iframe.style.display = 'none';
    else if (e.event === 'accountsChanged' || e.event === 'chainChanged') listeners.get(e.event)?.forEach((l) => l(e.data));
  };
  return (e: MessageEvent): void => {
    // Only the frame's window, on the frame's origin: another window or origin cannot answer a request or raise the frame.
    if (e.source !== shown.target || e.origin !== walletOrigin) return;
    const reply = asFrameReply(e.data);
    if (!reply) return;
    if (reply.kind === 'event') return onEvent(reply);
    const waiting = pending.get(reply.id);
    if (!waiting) return;
    pending.delete(reply.id);
    if (reply.ok) waiting.resolve(reply.result);
    // The frame's pad refused input it could not know the user saw (docs/frame.md#limits): connectWallet({ mode: 'popup' }) is the way.
    else
      waiting.reject(
        reply.error.code === 'FRAME_NOT_VISIBLE' || reply.error.code === 'FRAME_POPUP_REQUIRED'
          ? new WalletFrameError(reply.error.code, reply.error.message)
          : errorFromWire(reply.error),
      );
  };
}

/** The EIP-1193 provider over the frame: every request goes to the frame's own provider. */
function frameProvider(call: Call, listeners: Listeners): Eip1193Provider {
  const provider: Eip1193Provider = {
    request: ({ method, params }) => call('eip1193', { method, ...(params !== undefined ? { params } : {}) }),
    on(event, listener) {
      if (!listeners.has(event)) listeners.set(event, new Set());
      listeners.get(event)!.add(listener);
      return provider;
    },
    removeListener(event, listener) {
      listeners.get(event)?.delete(listener);
      return provider;
    },
  };
  return provider;
}

/** The selected wallet's Solana signer: its address asked of the frame, each signature made there. */
async function frameSolanaSigner(call: Call): Promise<FrameSolanaSigner> {
  // Typed as @solana/kit's Address and SignatureBytes (solana.ts): plain strings and bytes at run time.
  const address = (await call('solanaAddress', {})) as SolanaAddress;
  const signer: FrameSolanaSigner = {
    address,
    signTransaction: (wireTransaction) => call('solanaSignTransaction', { wireTransaction }),
    signMessage: (message) => call('solanaSignMessage', { message }),
    signOffchainMessage: (text, o = {}) => call('solanaSignOffchainMessage', { text, ...o }),
    signTransactions: async (transactions) =>
      Object.freeze(
        (await call('solanaSignTransactions', { messages: transactions.map((t) => Uint8Array.from(t.messageBytes)) })) as SolanaSignatureDictionary[],
      ),
    signMessages: async (messages) =>
      Object.freeze((await call('solanaSignMessages', { messages: messages.map((m) => Uint8Array.from(m.content)) })) as SolanaSignatureDictionary[]),
  };
  return Object.freeze(signer);
}
