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
  const { client, appOrigins, peer, ui } = options;
  let walletId: string | undefined;
  let evm: Eip1193Provider | undefined;
  let solana: Promise<SolanaSigner> | undefined;
  let busy = 0;
  /** Whether `login` succeeded (and no `logout` since): no PIN pad is shown before. */
  let loggedIn = false;
  const needSession = (): void => {
    if (!loggedIn) throw new EnclaveWalletApiError({ code: 'UNAUTHENTICATED', message: 'log in first: the wallet frame has no session', status: 401 });
  };
  /** A refusal of the pad passes as is when it is FRAME_NOT_VISIBLE; any other is the user's cancel (4001). */
  const padRefusal = (err: unknown): Error => ((err as { code?: unknown } | null)?.code === 'FRAME_NOT_VISIBLE' ? (err as Error) : userRejected());

  const emit = (name: FrameEventName, data?: unknown, origin?: string): void => {
    // To the asking origin when there is one; otherwise to each allowed origin (the browser delivers to the one that matches).
    for (const o of origin ? [origin] : appOrigins) peer.postMessage(event(name, data), o);
  };
  /** Runs `f` with the frame shown (show before, hide after the last one). */
  const onScreen = async <T>(origin: string, f: () => Promise<T>): Promise<T> => {
    if (busy++ === 0) {
      options.onVisibility?.(true);
      emit('show', undefined, origin);
    }
    try {
      return await f();
    } finally {
      if (--busy === 0) {
        options.onVisibility?.(false);
        emit('hide', undefined, origin);
      }
    }
  };

  /**
   * How the user approves one signature: today the PIN pad, above the summary. A passkey prompt (an `authorize`
   * callback of the SDK beside `getPin`) plugs in here, in the same `onScreen` block.
   */
  const approval = (origin: string): GetPin => {
    return ({ summary }) => {
      needSession();
      return onScreen(origin, () =>
        ui.askPin({ title: 'Approve with your PIN', summary, origin }).catch((err: unknown) => {
          const refusal = padRefusal(err);
          // Through the SDK's providers, as an EIP-1193 error: 4100 (not authorized), the frame's code as data.
          throw refusal instanceof ProviderRpcError ? refusal : new ProviderRpcError(4100, refusal.message, { code: 'FRAME_NOT_VISIBLE' });
        }),
      );
    };
  };

  const select = async (id: string, origin: string): Promise<FrameCalls['selectWallet']['result']> => {
    const wallet = await client.getWallet(id);
    const changed = walletId !== id;
    walletId = id;
    evm = options.evm ? client.toEip1193Provider(id, { getPin: approval(origin), rpcUrl: options.evm.rpcUrl, chainId: options.evm.chainId }) : undefined;
    solana = undefined;
    const evmAddress = wallet.accounts.find((a) => a.network === 'evm' && a.index === 0)?.address ?? null;
    if (changed) emit('accountsChanged', evmAddress ? [evmAddress] : [], origin);
    return { walletId: id, evm: evmAddress, solana: wallet.accounts.find((a) => a.network === 'solana' && a.index === 0)?.address ?? null };
  };
  const noWallet = (): Error =>
    Object.assign(new Error('no wallet selected: log in, then createWallet, listWallets or selectWallet'), { code: 'NO_WALLET_SELECTED' });
  const solanaSigner = (origin: string): Promise<SolanaSigner> => {
    if (!walletId) return Promise.reject(noWallet());
    return (solana ??= client.solanaSigner(walletId, { getPin: approval(origin) }));
  };
  /** A wallet as the app sees it: no recovery code, whatever the SDK attached. */
  const plain = (w: Wallet): Wallet => ({ walletId: w.walletId, accounts: w.accounts.map((a) => ({ ...a })), createdAt: w.createdAt });

  async function answer(req: FrameRequest, origin: string): Promise<unknown> {
    switch (req.method) {
      case 'login': {
        const { idToken } = req.params as FrameCalls['login']['params'];
        if (typeof idToken !== 'string') throw new TypeError('login needs an idToken');
        loggedIn = false;
        const session = await client.login(idToken);
        loggedIn = true;
        walletId = undefined;
        evm = undefined;
        solana = undefined;
        // Who, not the tokens: those stay in the frame.
        return { user: { id: session.user.id, email: session.user.email } };
      }
      case 'logout':
        loggedIn = false;
        await client.logout();
        walletId = undefined;
        evm = undefined;
        solana = undefined;
        emit('accountsChanged', [], origin);
        return null;
      case 'createWallet': {
        needSession();
        const wallet = await onScreen(origin, async () => {
          const pin = await ui.askPin({ title: 'Choose a PIN for your new wallet', isNew: true, origin }).catch((err: unknown) => {
            throw padRefusal(err);
          });
          const created = await client.createWallet(pin);
          await ui.showRecoveryCode(created.recoveryCode);
          return plain(created);
        });
        await select(wallet.walletId, origin);
        return wallet;
      }
      case 'listWallets': {
        const wallets = (await client.listWallets()).map(plain);
        if (!walletId && wallets[0]) await select(wallets[0].walletId, origin);
        return wallets;
      }
      case 'selectWallet': {
        const { walletId: id } = req.params as FrameCalls['selectWallet']['params'];
        if (typeof id !== 'string') throw new TypeError('selectWallet needs a walletId');
        return select(id, origin);
      }
      case 'eip1193': {
        const { method, params } = req.params as FrameCalls['eip1193']['params'];
        if (typeof method !== 'string') throw new TypeError('an EIP-1193 request needs a method');
        if (method === 'eth_chainId' && options.evm) return `0x${options.evm.chainId.toString(16)}`;
        if (!evm) {
          if (method === 'eth_accounts') return [];
          throw new ProviderRpcError(4100, 'no account yet: log in, then create or select a wallet');
        }
        return evm.request({ method, ...(params !== undefined ? { params } : {}) });
      }
      case 'solanaAddress':
        return (await solanaSigner(origin)).address;
      case 'solanaSignTransaction':
        return (await solanaSigner(origin)).signTransaction((req.params as FrameCalls['solanaSignTransaction']['params']).wireTransaction);
      case 'solanaSignMessage':
        return (await solanaSigner(origin)).signMessage((req.params as FrameCalls['solanaSignMessage']['params']).message);
      case 'solanaSignOffchainMessage': {
        const { text, ...o } = req.params as FrameCalls['solanaSignOffchainMessage']['params'];
        return (await solanaSigner(origin)).signOffchainMessage(text, o);
      }
      case 'solanaSignTransactions': {
        const { messages } = req.params as FrameCalls['solanaSignTransactions']['params'];
        return [...(await (await solanaSigner(origin)).signTransactions(messages.map((messageBytes) => ({ messageBytes }))))];
      }
      case 'solanaSignMessages': {
        const { messages } = req.params as FrameCalls['solanaSignMessages']['params'];
        return [...(await (await solanaSigner(origin)).signMessages(messages.map((content) => ({ content }))))];
      }
    }
  }

  const onMessage = (e: MessageEvent): void => {
    if (!isAllowedOrigin(e.origin, appOrigins)) return options.onIgnored?.('origin not in APP_ORIGINS', e.origin);
    if (e.source !== (peer as unknown)) return options.onIgnored?.('not from the embedding window', e.origin);
    const req = asFrameRequest(e.data);
    if (!req) return options.onIgnored?.('not a request of the frame protocol', e.origin);
    answer(req, e.origin).then(
      (result) => peer.postMessage(success(req.id, result), e.origin),
      (err: unknown) => peer.postMessage(failure(req.id, err), e.origin),
    );
  };
  options.events.addEventListener('message', onMessage);
  emit('ready');
  return () => options.events.removeEventListener('message', onMessage);
}
