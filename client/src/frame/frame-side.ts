/**
 * The frame side of the wallet frame (docs/frame.md): run by the frame page on the wallet's own origin. It holds
 * the wallet session (an SDK client whose tokens stay in the frame), answers the app's requests, and asks the
 * user on the frame's own PIN pad, above the decoded summary of what the PIN approves. Messages from an origin
 * not in APP_ORIGINS, or from another window than the one that embedded (or opened) the frame, are ignored;
 * answers go to the asking origin only.
 *
 * The EVM provider and the Solana signer are the SDK's own (toEip1193Provider, solanaSigner), with the PIN
 * pad as their `getPin`: `approval` below is the one place where the frame decides how the user authorizes a
 * signature, where a passkey prompt plugs in beside the PIN pad.
 */
import { EnclaveWalletApiError } from '../errors.js';
import type { EnclaveWallet } from '../sdk.js';
import { ProviderRpcError, type Eip1193Provider } from '../eip1193.js';
import type { SolanaSigner } from '../solana.js';
import type { ApprovalSummary, GetPin } from '../summary.js';
import type { Wallet } from '../types.js';
import { asFrameRequest, event, failure, isAllowedOrigin, success, userRejected, type FrameCalls, type FrameEventName, type FrameRequest } from './messages.js';

/** What the frame page shows: the PIN pad (with the summary), the recovery code once. */
export interface FrameUi {
  /**
   * Asks for a PIN: `isNew` when the user chooses one (then the pad checks it is acceptable). Rejects (any error)
   * when the user cancels; the request then fails with EIP-1193's 4001. Rejects with an error whose `code` is
   * FRAME_NOT_VISIBLE when the pad was tapped while not seen (or the browser cannot tell): that error crosses as is.
   */
  askPin(request: { title: string; summary?: ApprovalSummary; isNew?: boolean; origin: string }): Promise<string>;
  /** Shows a new wallet's recovery code until the user says it is written down. */
  showRecoveryCode(code: string): Promise<void>;
  /**
   * Asks for the wallet's recovery code, typed on the keyboard: only where the app cannot hold the keyboard's focus
   * (the frame's popup), so a frame in an iframe leaves it out and resetPin answers FRAME_POPUP_REQUIRED. Resolves
   * with a code of the right form (checked as it is typed); rejects when the user cancels.
   */
  askRecoveryCode?(request: { origin: string }): Promise<string>;
}

/** The window the frame talks to (the embedding page, or the popup's opener), as far as this module needs it. */
export interface PeerWindow {
  postMessage(message: unknown, targetOrigin: string): void;
}

export interface FrameOptions {
  client: EnclaveWallet;
  /** APP_ORIGINS, parsed (parseOrigins). */
  appOrigins: readonly string[];
  /** The page that embedded the frame (window.parent) or opened it (window.opener). */
  peer: PeerWindow;
  /**
   * The embedding page's origin when the browser tells it (`location.ancestorOrigins[0]` in an iframe): the events
   * nobody asked for (`ready`) go to it alone when it is in APP_ORIGINS, instead of to each allowed origin, which a
   * browser logs a console warning for when it is not the page's.
   */
  embedderOrigin?: string;
  /** Where messages arrive (the frame's window). */
  events: { addEventListener(type: 'message', l: (e: MessageEvent) => void): void; removeEventListener(type: 'message', l: (e: MessageEvent) => void): void };
  ui: FrameUi;
  /** The EVM chain the provider serves, read through `rpcUrl` (the frame's node, not the app's). */
  evm?: { chainId: number; rpcUrl: string };
  /** Told when the frame needs the screen (show) and when it is done (hide); the app side shows the iframe meanwhile. */
  onVisibility?(visible: boolean): void;
  /** Messages ignored (origin or window not allowed, malformed): for the page's console. */
  onIgnored?(reason: string, origin: string): void;
}

/** Starts answering; returns a function that stops. */
export function serveFrame(options: FrameOptions): () => void {
  const { appOrigins, peer } = options;
  const frame = new FrameSession(options);
  const onMessage = (e: MessageEvent): void => {
    if (!isAllowedOrigin(e.origin, appOrigins)) return options.onIgnored?.('origin not in APP_ORIGINS', e.origin);
    if (e.source !== (peer as unknown)) return options.onIgnored?.('not from the embedding window', e.origin);
    const req = asFrameRequest(e.data);
    if (!req) return options.onIgnored?.('not a request of the frame protocol', e.origin);
    void frame
      .answer(req, e.origin)
      .then(
        (result) => success(req.id, result),
        (err: unknown) => failure(req.id, err),
      )
      .then((reply) => {
        // A reply the browser cannot copy (DataCloneError) is answered as that error, never left unanswered.
        try {
          peer.postMessage(reply, e.origin);
        } catch (err) {
          peer.postMessage(failure(req.id, err), e.origin);
        }
      });
  };
  options.events.addEventListener('message', onMessage);
  frame.emit('ready');
  return () => options.events.removeEventListener('message', onMessage);
}

/** A refusal of the pad passes as is when it is FRAME_NOT_VISIBLE; any other is the user's cancel (4001). */
const padRefusal = (err: unknown): Error => ((err as { code?: unknown } | null)?.code === 'FRAME_NOT_VISIBLE' ? (err as Error) : userRejected());

const noWallet = (): Error =>
  Object.assign(new Error('no wallet selected: log in, then createWallet, listWallets or selectWallet'), { code: 'NO_WALLET_SELECTED' });

/** A wallet as the app sees it: no recovery code, whatever the SDK attached. */
const plain = (w: Wallet): Wallet => ({ walletId: w.walletId, accounts: w.accounts.map((a) => ({ ...a })), createdAt: w.createdAt });

/** The frame's state between messages (the session, the selected wallet and its providers) and its answers. */
class FrameSession {
  private walletId: string | undefined;
  private evm: Eip1193Provider | undefined;
  private solana: Promise<SolanaSigner> | undefined;
  private busy = 0;
  /** The screen's turns: one approval's pad, or one new wallet's pad, creation and recovery code, at a time. */
  private screen: Promise<unknown> = Promise.resolve();
  /** Whether `login` succeeded (and no `logout` since): no PIN pad is shown before. */
  private loggedIn = false;

  constructor(private readonly options: FrameOptions) {}

  private needSession(): void {
    if (!this.loggedIn) throw new EnclaveWalletApiError({ code: 'UNAUTHENTICATED', message: 'log in first: the wallet frame has no session', status: 401 });
  }

  emit(name: FrameEventName, data?: unknown, origin?: string): void {
    // To the asking origin when there is one; else to the embedder's when the browser names an allowed one; else to
    // each allowed origin (the browser delivers to the one that matches; a browser that masks the embedder, "null",
    // still gets its ready).
    const { embedderOrigin, appOrigins } = this.options;
    const to = origin ? [origin] : embedderOrigin !== undefined && isAllowedOrigin(embedderOrigin, appOrigins) ? [embedderOrigin] : new Set(appOrigins);
    for (const o of to) this.options.peer.postMessage(event(name, data), o);
  }

  /**
   * Runs `f` in the screen's next turn. A new wallet's code must be seen before anything else asks: shown in a turn of
   * its own, it could wait behind another pad, and a popup closed there would take a made wallet's only code with it.
   */
  private inTurn<T>(f: () => Promise<T>): Promise<T> {
    const turn = this.screen.then(f, f);
    this.screen = turn.catch(() => undefined);
    return turn;
  }

  /** Runs `f` with the frame shown (show before, hide after the last one). */
  private async onScreen<T>(origin: string, f: () => Promise<T>): Promise<T> {
    if (this.busy++ === 0) {
      this.options.onVisibility?.(true);
      this.emit('show', undefined, origin);
    }
    try {
      return await f();
    } finally {
      if (--this.busy === 0) {
        this.options.onVisibility?.(false);
        this.emit('hide', undefined, origin);
      }
    }
  }

  /**
   * How the user approves one signature: today the PIN pad, above the summary. A passkey prompt (an `authorize`
   * callback of the SDK beside `getPin`) plugs in here, in the same `onScreen` block.
   */
  private approval(origin: string): GetPin {
    return ({ summary }) => {
      this.needSession();
      return this.onScreen(origin, () =>
        this.inTurn(() => this.options.ui.askPin({ title: 'Approve with your PIN', summary, origin })).catch((err: unknown) => {
          const refusal = padRefusal(err);
          // Through the SDK's providers, as an EIP-1193 error: 4100 (not authorized), the frame's code as data.
          throw refusal instanceof ProviderRpcError ? refusal : new ProviderRpcError(4100, refusal.message, { code: 'FRAME_NOT_VISIBLE' });
        }),
      );
    };
  }

  /** Makes `id` the selected wallet; `known` is its record when the frame has it (a wallet it just made), else it is read. */
  private async select(id: string, origin: string, known?: Wallet): Promise<FrameCalls['selectWallet']['result']> {
    const { client, evm: chain } = this.options;
    const wallet = known ?? (await client.getWallet(id));
    const changed = this.walletId !== id;
    this.walletId = id;
    this.evm = chain ? client.toEip1193Provider(id, { getPin: this.approval(origin), rpcUrl: chain.rpcUrl, chainId: chain.chainId }) : undefined;
    this.solana = undefined;
    const evmAddress = wallet.accounts.find((a) => a.network === 'evm' && a.index === 0)?.address ?? null;
    if (changed) this.emit('accountsChanged', evmAddress ? [evmAddress] : [], origin);
    return { walletId: id, evm: evmAddress, solana: wallet.accounts.find((a) => a.network === 'solana' && a.index === 0)?.address ?? null };
  }

  /** No wallet selected, and no providers: after login and logout. */
  private forgetWallet(): void {
    this.walletId = undefined;
    this.evm = undefined;
    this.solana = undefined;
  }

  private solanaSigner(origin: string): Promise<SolanaSigner> {
    if (!this.walletId) return Promise.reject(noWallet());
    return (this.solana ??= this.options.client.solanaSigner(this.walletId, { getPin: this.approval(origin) }));
  }

  /** The answer to one request: the session and wallet methods here, the signing methods in `sign`. */
  async answer(req: FrameRequest, origin: string): Promise<unknown> {
    const { client } = this.options;
    switch (req.method) {
      case 'login': {
        const { idToken } = req.params as FrameCalls['login']['params'];
        if (typeof idToken !== 'string') throw new TypeError('login needs an idToken');
        this.loggedIn = false;
        const session = await client.login(idToken);
        this.loggedIn = true;
        this.forgetWallet();
        // Who, not the tokens: those stay in the frame.
        return { user: { id: session.user.id, email: session.user.email } };
      }
      case 'logout':
        this.loggedIn = false;
        await client.logout();
        this.forgetWallet();
        this.emit('accountsChanged', [], origin);
        return null;
      case 'createWallet':
        return this.createWallet(origin);
      case 'listWallets': {
        const wallets = (await client.listWallets()).map(plain);
        if (!this.walletId && wallets[0]) await this.select(wallets[0].walletId, origin);
        return wallets;
      }
      case 'resetPin':
        return this.resetPin(origin);
      case 'newRecoveryCode':
        return this.newRecoveryCode(origin);
      case 'selectWallet': {
        const { walletId: id } = req.params as FrameCalls['selectWallet']['params'];
        if (typeof id !== 'string') throw new TypeError('selectWallet needs a walletId');
        return this.select(id, origin);
      }
      default:
        return this.sign(req, origin);
    }
  }

  /** A new wallet: its PIN chosen on the pad, its recovery code shown once; then selected. */
  private async createWallet(origin: string): Promise<Wallet> {
    this.needSession();
    const wallet = await this.onScreen(origin, () =>
      this.inTurn(async () => {
        const pin = await this.options.ui.askPin({ title: 'Choose a PIN for your new wallet', isNew: true, origin }).catch((err: unknown) => {
          throw padRefusal(err);
        });
        const created = await this.options.client.createWallet(pin);
        await this.options.ui.showRecoveryCode(created.recoveryCode);
        return plain(created);
      }),
    );
    // Selected from what the API answered: a read here could fail after the wallet exists and its code was shown,
    // and the app, told createWallet failed, would make a second one.
    await this.select(wallet.walletId, origin, wallet);
    return wallet;
  }

  /**
   * A forgotten PIN, for the selected wallet: its recovery code typed in the popup, a new PIN chosen on the pad, the
   * new recovery code shown (the one typed stops working). In an iframe the code is not asked for at all.
   */
  private async resetPin(origin: string): Promise<null> {
    this.needSession();
    const { askRecoveryCode } = this.options.ui;
    if (!askRecoveryCode)
      throw Object.assign(
        new Error(
          'the recovery code is typed on a keyboard, which only the wallet\'s own window keeps from the page: connectWallet({ mode: "popup" }) from a click, then resetPin there',
        ),
        { code: 'FRAME_POPUP_REQUIRED' },
      );
    const walletId = this.walletId;
    if (!walletId) throw noWallet();
    await this.onScreen(origin, () =>
      this.inTurn(async () => {
        const code = await askRecoveryCode.call(this.options.ui, { origin }).catch(() => {
          throw userRejected();
        });
        const pin = await this.options.ui.askPin({ title: 'Choose a new PIN', isNew: true, origin }).catch((err: unknown) => {
          throw padRefusal(err);
        });
        const next = await this.options.client.resetPin(walletId, code, pin);
        await this.options.ui.showRecoveryCode(next);
      }),
    );
    return null;
  }

  /** A new recovery code for the selected wallet: approved with the PIN on the pad (taps, in an iframe too), shown once. */
  private async newRecoveryCode(origin: string): Promise<null> {
    this.needSession();
    const walletId = this.walletId;
    if (!walletId) throw noWallet();
    await this.onScreen(origin, () =>
      this.inTurn(async () => {
        const pin = await this.options.ui.askPin({ title: 'Approve a new recovery code with your PIN', origin }).catch((err: unknown) => {
          throw padRefusal(err);
        });
        const code = await this.options.client.newRecoveryCode(walletId, pin);
        await this.options.ui.showRecoveryCode(code);
      }),
    );
    return null;
  }

  /** The signing methods: the selected wallet's EIP-1193 provider and Solana signer, each signature approved on the pad. */
  private async sign(req: FrameRequest, origin: string): Promise<unknown> {
    switch (req.method) {
      case 'eip1193': {
        const { method, params } = req.params as FrameCalls['eip1193']['params'];
        if (typeof method !== 'string') throw new TypeError('an EIP-1193 request needs a method');
        if (method === 'eth_chainId' && this.options.evm) return `0x${this.options.evm.chainId.toString(16)}`;
        if (!this.evm && method === 'eth_requestAccounts' && this.loggedIn) {
          // A returning user's dapp asks for accounts right after login: their first wallet, as listWallets selects it.
          const [first] = await this.options.client.listWallets();
          if (first) await this.select(first.walletId, origin);
        }
        if (!this.evm) {
          if (method === 'eth_accounts') return [];
          throw new ProviderRpcError(
            4100,
            this.loggedIn
              ? 'no wallet yet: createWallet makes one (or selectWallet, listWallets for one the user has)'
              : 'no account yet: log in first, then createWallet, listWallets or selectWallet',
          );
        }
        return this.evm.request({ method, ...(params !== undefined ? { params } : {}) });
      }
      case 'solanaAddress':
        return (await this.solanaSigner(origin)).address;
      case 'solanaSignTransaction':
        return (await this.solanaSigner(origin)).signTransaction((req.params as FrameCalls['solanaSignTransaction']['params']).wireTransaction);
      case 'solanaSignMessage':
        return (await this.solanaSigner(origin)).signMessage((req.params as FrameCalls['solanaSignMessage']['params']).message);
      case 'solanaSignOffchainMessage': {
        const { text, ...o } = req.params as FrameCalls['solanaSignOffchainMessage']['params'];
        return (await this.solanaSigner(origin)).signOffchainMessage(text, o);
      }
      case 'solanaSignTransactions': {
        const { messages } = req.params as FrameCalls['solanaSignTransactions']['params'];
        return [...(await (await this.solanaSigner(origin)).signTransactions(messages.map((messageBytes) => ({ messageBytes }))))];
      }
      case 'solanaSignMessages': {
        const { messages } = req.params as FrameCalls['solanaSignMessages']['params'];
        return [...(await (await this.solanaSigner(origin)).signMessages(messages.map((content) => ({ content }))))];
      }
    }
  }
}
