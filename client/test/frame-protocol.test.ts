/**
 * The wallet frame's message protocol (client/src/frame): origin allow-lists, message shapes, request ids, the
 * mapping of errors across the channel, and both sides' checks of who a message comes from. The frame side is
 * driven with a stand-in for the SDK client (this is a unit test of the protocol module only); the real client
 * behind a real frame in Chromium is test/browser/frame.test.ts.
 */
import { describe, expect, jest, test } from '@jest/globals';
import { AttestationError } from '../src/attestation/verify.js';
import { EnclaveWalletApiError } from '../src/errors.js';
import { ProviderRpcError } from '../src/eip1193.js';
import { connection, WalletFrameError } from '../src/frame/app.js';
import { serveFrame, type FrameUi } from '../src/frame/frame-side.js';
import {
  asFrameReply,
  asFrameRequest,
  errorFromWire,
  errorToWire,
  FRAME_PROTOCOL,
  isAllowedOrigin,
  newRequestId,
  parseOrigins,
  request,
  type FrameResponse,
} from '../src/frame/messages.js';
import type { EnclaveWallet } from '../src/sdk.js';

const APP = 'https://app.example.com';
const FRAME = 'https://wallet-frame.example.com';

describe('origins', () => {
  test('parseOrigins takes bare origins as the browser writes them and refuses wildcards, null, paths and other schemes', () => {
    expect(parseOrigins(' https://app.example.com , http://localhost:3000')).toEqual(['https://app.example.com', 'http://localhost:3000']);
    expect(parseOrigins(['https://a.example.com:8443', 'http://127.0.0.1:8080', 'http://localhost'])).toEqual([
      'https://a.example.com:8443',
      'http://127.0.0.1:8080',
      'http://localhost',
    ]);
    for (const bad of [
      '*',
      'https://*.example.com',
      'null',
      'file:///etc/passwd',
      'javascript:alert(1)',
      'https://a.com/app',
      'https://a.com/?x=1',
      'https://u:p@a.com',
      'a.com',
    ])
      expect(() => parseOrigins(bad)).toThrow(TypeError);
  });

  test('parseOrigins: https only, except http://localhost and http://127.0.0.1 (any port)', () => {
    for (const bad of ['http://app.example.com', 'http://192.168.1.10:3000', 'http://localhost.example.com', 'http://127.0.0.2', 'http://[::1]:3000'])
      expect(() => parseOrigins(bad)).toThrow(/https:\/\/host\[:port\] as a browser writes it; http only on localhost, 127\.0\.0\.1/);
  });

  test("parseOrigins refuses, never rewrites, an entry that is not its own normalised origin (the review's cases)", () => {
    for (const bad of [
      'HTTPS://APP.Example.COM:443', // case and default port
      'https://App.example.com',
      'https://app.example.com:443',
      'https://app.example.com:0443',
      'https://app.example.com/', // a trailing slash
      'https://\u0430pp.example.com', // Cyrillic "а": the parser would turn it into xn--pp-6kc.example.com
      'https://xn--pp-6kc.example.com/', // (and its punycode with a slash)
      'https://0x7f.1', // read as 127.0.0.1
      'https://app.exa\tmple.com', // a tab inside, which the parser drops (spaces at the ends are trimmed)
    ])
      expect(() => parseOrigins([bad])).toThrow(TypeError);
    for (const bad of ['https://app.example.com/.', 'https://app.example.com/%2e', 'https://app.example.com/./'])
      expect(() => parseOrigins([bad])).toThrow(TypeError);
    // What the browser writes passes, punycode included when written as such, and a trailing dot (its own origin to the browser).
    expect(parseOrigins(['https://xn--pp-6kc.example.com', 'https://app.example.com.'])).toEqual([
      'https://xn--pp-6kc.example.com',
      'https://app.example.com.',
    ]);
  });

  test('isAllowedOrigin is an exact match: no prefix, suffix or scheme tricks, never "null"', () => {
    const allowed = parseOrigins(APP);
    expect(isAllowedOrigin(APP, allowed)).toBe(true);
    for (const other of [
      'https://app.example.com.evil.com',
      'http://app.example.com',
      'https://app.example.com:444',
      'https://evil.app.example.com',
      'null',
      '',
    ])
      expect(isAllowedOrigin(other, allowed)).toBe(false);
    expect(isAllowedOrigin('null', ['null'])).toBe(false);
  });
});

describe('messages', () => {
  test('a request is well-formed only with the protocol tag, a known method, a string id and object params', () => {
    const good = request('id-1', 'listWallets', {});
    expect(asFrameRequest(good)).toEqual(good);
    expect(asFrameRequest({ ...good, protocol: 'other/1' })).toBeUndefined();
    expect(asFrameRequest({ ...good, method: 'exportRecoveryPhrase' })).toBeUndefined();
    expect(asFrameRequest({ ...good, method: 'toString' })).toBeUndefined();
    expect(asFrameRequest({ ...good, id: 7 })).toBeUndefined();
    expect(asFrameRequest({ ...good, id: '' })).toBeUndefined();
    expect(asFrameRequest({ ...good, id: 'x'.repeat(101) })).toBeUndefined();
    expect(asFrameRequest({ ...good, params: [] })).toBeUndefined();
    expect(asFrameRequest({ ...good, kind: 'response' })).toBeUndefined();
    expect(asFrameRequest('{"protocol":"enclave-wallet-frame/1"}')).toBeUndefined();
    expect(asFrameRequest(null)).toBeUndefined();
  });

  test('replies: responses carry ok and a result or an error object; events only known names', () => {
    expect(asFrameReply({ protocol: FRAME_PROTOCOL, kind: 'response', id: 'a', ok: true, result: 1 })).toBeDefined();
    expect(asFrameReply({ protocol: FRAME_PROTOCOL, kind: 'response', id: 'a', ok: false, error: { name: 'Error', code: 'X', message: 'm' } })).toBeDefined();
    expect(asFrameReply({ protocol: FRAME_PROTOCOL, kind: 'response', id: 'a', ok: false })).toBeUndefined();
    expect(asFrameReply({ protocol: FRAME_PROTOCOL, kind: 'response', id: 'a', ok: 'yes', result: 1 })).toBeUndefined();
    expect(asFrameReply({ protocol: FRAME_PROTOCOL, kind: 'event', event: 'show' })).toBeDefined();
    expect(asFrameReply({ protocol: FRAME_PROTOCOL, kind: 'event', event: 'pin' })).toBeUndefined();
  });

  test('request ids are random and distinct', () => {
    const ids = new Set(Array.from({ length: 1000 }, newRequestId));
    expect(ids.size).toBe(1000);
    for (const id of [...ids].slice(0, 10)) expect(id).toMatch(/^[0-9a-f-]{32,36}$/);
  });
});

describe('errors across the channel', () => {
  const roundTrip = (e: unknown): Error => errorFromWire(structuredClone(errorToWire(e)));

  test('ProviderRpcError keeps its EIP-1193 code and data', () => {
    const back = roundTrip(new ProviderRpcError(4001, 'the user rejected the request', { code: 'X' }));
    expect(back).toBeInstanceOf(ProviderRpcError);
    expect(back).toMatchObject({ code: 4001, message: 'the user rejected the request', data: { code: 'X' } });
  });

  test('EnclaveWalletApiError keeps its code, status and the fields a user acts on (attempts left, retry after, hash)', () => {
    const back = roundTrip(
      new EnclaveWalletApiError({ code: 'PIN_INVALID', message: 'wrong PIN', status: 403, attemptsLeft: 3, requestId: 'r', cause: new Error('inner') }),
    );
    expect(back).toBeInstanceOf(EnclaveWalletApiError);
    expect(back).toMatchObject({ code: 'PIN_INVALID', status: 403, attemptsLeft: 3, message: 'wrong PIN' });
    expect((back as EnclaveWalletApiError).cause).toBeUndefined();
    expect(roundTrip(new EnclaveWalletApiError({ code: 'BROADCAST_UNKNOWN', message: 'm', status: 502, hash: '0xab', retryAfter: 2 }))).toMatchObject({
      hash: '0xab',
      retryAfter: 2,
    });
  });

  test('AttestationError keeps its code; other errors keep an upper-case code or become FRAME_ERROR; no stack crosses', () => {
    expect(roundTrip(new AttestationError('PCR_MISMATCH', 'PCR0 differs'))).toMatchObject({ name: 'AttestationError', code: 'PCR_MISMATCH' });
    expect(roundTrip(Object.assign(new Error('no wallet'), { code: 'NO_WALLET_SELECTED' }))).toMatchObject({
      code: 'NO_WALLET_SELECTED',
      message: 'no wallet',
    });
    expect(roundTrip(Object.assign(new Error('x'), { code: 'ERR_some node thing' }))).toMatchObject({ code: 'FRAME_ERROR' });
    expect(roundTrip('a string')).toMatchObject({ code: 'FRAME_ERROR', message: 'a string' });
    const wire = errorToWire(new Error('boom'));
    expect(Object.keys(wire).sort()).toEqual(['code', 'message', 'name']);
  });

  test('a malformed error from the wire still gives an Error, never a throw', () => {
    expect(errorFromWire({ name: 'ProviderRpcError', code: 'not-a-number', message: 'm' })).toBeInstanceOf(Error);
    expect(errorFromWire({ name: 'EnclaveWalletApiError', code: 5, message: 'm' } as never)).toBeInstanceOf(Error);
  });
});

/** A message as the browser delivers it: data, the sender's origin and window. */
const messageEvent = (data: unknown, origin: string, source: unknown): MessageEvent =>
  Object.assign(new Event('message'), { data, origin, source }) as unknown as MessageEvent;
const tick = (): Promise<void> => new Promise((r) => setTimeout(r, 0));

describe('the frame side', () => {
  function setup(ui: Partial<FrameUi> = {}, appOrigins: string[] = [APP], embedderOrigin?: string) {
    const posted: Array<{ message: { kind: string; id?: string; ok?: boolean; event?: string; result?: unknown; error?: unknown }; origin: string }> = [];
    // Copied as the browser copies it (structured clone): a value it cannot copy throws, as postMessage would.
    const peer = { postMessage: (message: never, origin: string) => posted.push({ message: structuredClone(message), origin }) };
    const events = new EventTarget();
    const ignored: string[] = [];
    const client = {
      login: jest.fn(async () => ({
        accessToken: 'eyJ.access',
        refreshToken: 'refresh',
        expiresAt: 0,
        user: { id: 'u1', email: 'a@example.com', provider: 'dev' },
      })),
      createWallet: jest.fn(async (_pin: string) =>
        Object.defineProperty(
          { walletId: 'w1', accounts: [{ network: 'evm', index: 0, path: "m/44'/60'/0'/0/0", address: '0xabc' }], createdAt: 't' },
          'recoveryCode',
          {
            value: 'AAAA-BBBB',
            enumerable: false,
          },
        ),
      ),
      getWallet: jest.fn(async () => ({ walletId: 'w1', accounts: [{ network: 'evm', index: 0, path: '', address: '0xabc' }], createdAt: 't' })),
      listWallets: jest.fn(async (): Promise<Array<{ walletId: string; accounts: unknown[]; createdAt: string }>> => []),
      toEip1193Provider: jest.fn(() => ({ request: async () => ['0xabc'], on: () => undefined, removeListener: () => undefined })),
      resetPin: jest.fn(async (_walletId: string, _code: string, _pin: string) => 'NEWC-ODE0'),
      newRecoveryCode: jest.fn(async (_walletId: string, _pin: string) => 'NEXT-CODE'),
    };
    const fullUi: FrameUi = { askPin: async () => '493817', showRecoveryCode: async () => undefined, ...ui };
    const stop = serveFrame({
      client: client as unknown as EnclaveWallet,
      appOrigins,
      peer,
      events: events as never,
      ui: fullUi,
      evm: { chainId: 31337, rpcUrl: 'http://127.0.0.1:8545' },
      onIgnored: (reason) => ignored.push(reason),
      ...(embedderOrigin !== undefined ? { embedderOrigin } : {}),
    });
    const send = async (data: unknown, origin = APP, source: unknown = peer): Promise<void> => {
      events.dispatchEvent(messageEvent(data, origin, source));
      for (let i = 0; i < 5; i++) await tick();
    };
    const responses = () => posted.filter((p) => p.message.kind === 'response');
    return { posted, peer, events, ignored, client, send, responses, stop };
  }

  test('says ready to each allowed origin only (the browser delivers to the one that matches)', () => {
    const { posted } = setup();
    expect(posted).toEqual([{ message: { protocol: FRAME_PROTOCOL, kind: 'event', event: 'ready' }, origin: APP }]);
  });

  test('with the embedder’s origin known and allowed, says ready to it alone; otherwise (masked, "null") to each allowed one', () => {
    expect(setup({}, [APP, 'https://other.example.com'], 'https://other.example.com').posted.map((p) => p.origin)).toEqual(['https://other.example.com']);
    expect(setup({}, [APP, 'https://other.example.com'], 'null').posted.map((p) => p.origin)).toEqual([APP, 'https://other.example.com']);
  });

  test('says ready once to an origin listed twice (a second ready would tell the app the frame reloaded)', () => {
    const { posted } = setup({}, [APP, 'https://other.example.com', APP]);
    expect(posted.map((p) => p.origin)).toEqual([APP, 'https://other.example.com']);
  });

  test('one wallet on screen at a time: its pad, its creation and its code before the next pad, an approval included', async () => {
    const screen: string[] = [];
    const ack: Array<() => void> = [];
    const { send, responses, client } = setup({
      askPin: async ({ title }) => {
        screen.push(title);
        return '493817';
      },
      showRecoveryCode: (code) => {
        screen.push(`code ${code}`);
        return new Promise<void>((resolve) => ack.push(resolve));
      },
    });
    let made = 0;
    client.createWallet.mockImplementation(async () =>
      Object.defineProperty({ walletId: `w${++made}`, accounts: [], createdAt: 't' }, 'recoveryCode', { value: `CODE-${made}`, enumerable: false }),
    );
    // The provider asks the frame for approval as the SDK's does: through the getPin it was given.
    (client.toEip1193Provider as jest.Mock).mockImplementation(((_id: unknown, options: { getPin(r: { summary: unknown }): Promise<string> }) => ({
      request: async () => (await options.getPin({ summary: { lines: [] } }), '0x5167'),
      on: () => undefined,
      removeListener: () => undefined,
    })) as never);
    const ids = (): string[] => responses().map((r) => r.message.id!);
    const settle = async (): Promise<void> => {
      for (const resolve of ack.splice(0)) resolve();
      for (let i = 0; i < 10; i++) await tick();
    };
    await send(request('l1', 'login', { idToken: 'token' }));
    await send(request('s1', 'selectWallet', { walletId: 'w0' }));
    await send(request('c1', 'createWallet', {}));
    await send(request('c2', 'createWallet', {}));
    await send(request('e1', 'eip1193', { method: 'personal_sign', params: ['0x00', '0xabc'] }));
    // The first wallet is made and its code shown; nothing else asks until the user acknowledges it.
    expect(screen).toEqual(['Choose a PIN for your new wallet', 'code CODE-1']);
    expect(ids()).toEqual(['l1', 's1']);
    await settle();
    expect(screen.slice(2)).toEqual(['Choose a PIN for your new wallet', 'code CODE-2']);
    expect(ids()).toEqual(['l1', 's1', 'c1']);
    await settle();
    expect(screen.slice(4)).toEqual(['Approve with your PIN']);
    expect(ids().sort()).toEqual(['c1', 'c2', 'e1', 'l1', 's1']);
    expect(client.createWallet).toHaveBeenCalledTimes(2);
  });

  test('ignores messages from another origin, from another window, and malformed ones; answers none of them', async () => {
    const { send, responses, ignored, client } = setup();
    await send(request('r1', 'login', { idToken: 't' }), 'https://evil.example.com');
    await send(request('r2', 'login', { idToken: 't' }), APP, { postMessage() {} });
    await send({ ...request('r3', 'login', { idToken: 't' }), method: 'exportRecoveryPhrase' });
    await send(request('r4', 'login', { idToken: 't' }), 'null');
    expect(responses()).toEqual([]);
    expect(client.login).not.toHaveBeenCalled();
    expect(ignored).toEqual(['origin not in APP_ORIGINS', 'not from the embedding window', 'not a request of the frame protocol', 'origin not in APP_ORIGINS']);
  });

  test('login answers who, never the tokens, to the asking origin, with the request id', async () => {
    const { send, responses } = setup();
    await send(request('id-login', 'login', { idToken: 'token' }));
    expect(responses()).toEqual([
      {
        message: { protocol: FRAME_PROTOCOL, kind: 'response', id: 'id-login', ok: true, result: { user: { id: 'u1', email: 'a@example.com' } } },
        origin: APP,
      },
    ]);
    expect(JSON.stringify(responses())).not.toMatch(/eyJ|refresh/);
  });

  test('createWallet: the PIN and the recovery code stay in the frame; the app gets the wallet, shown and hidden around the pad', async () => {
    const shown: string[] = [];
    const { send, responses, posted, client } = setup({
      showRecoveryCode: async (code) => void shown.push(code),
    });
    await send(request('l1', 'login', { idToken: 'token' }));
    await send(request('c1', 'createWallet', {}));
    expect(client.createWallet).toHaveBeenCalledWith('493817');
    expect(shown).toEqual(['AAAA-BBBB']);
    const [, answer] = responses();
    expect(answer!.message.result).toEqual({
      walletId: 'w1',
      accounts: [{ network: 'evm', index: 0, path: "m/44'/60'/0'/0/0", address: '0xabc' }],
      createdAt: 't',
    });
    expect(JSON.stringify(posted)).not.toMatch(/493817|AAAA-BBBB/);
    expect(posted.filter((p) => p.message.kind === 'event').map((p) => p.message.event)).toEqual(['ready', 'show', 'hide', 'accountsChanged']);
    expect((posted.find((p) => p.message.event === 'accountsChanged')!.message as { data?: unknown }).data).toEqual(['0xabc']);
  });

  test('resetPin in a popup: the code typed there, a new PIN on the pad, the new code shown; the app learns only that it happened', async () => {
    const screen: string[] = [];
    const { send, responses, posted, client } = setup({
      askRecoveryCode: async () => {
        screen.push('code asked');
        return 'OLDC-ODE0';
      },
      askPin: async ({ title, isNew }) => {
        screen.push(`${title}${isNew ? ' (new)' : ''}`);
        return '864209';
      },
      showRecoveryCode: async (code) => void screen.push(`shown ${code}`),
    });
    client.listWallets.mockImplementation(async () => [{ walletId: 'w1', accounts: [], createdAt: 't' }]);
    await send(request('l1', 'login', { idToken: 'token' }));
    await send(request('w1', 'listWallets', {}));
    await send(request('r1', 'resetPin', {}));
    expect(screen).toEqual(['code asked', 'Choose a new PIN (new)', 'shown NEWC-ODE0']);
    expect(client.resetPin).toHaveBeenCalledWith('w1', 'OLDC-ODE0', '864209');
    expect(responses()[2]!.message).toMatchObject({ id: 'r1', ok: true, result: null });
    expect(JSON.stringify(posted)).not.toMatch(/864209|OLDC|NEWC/);
    expect(posted.filter((p) => p.message.kind === 'event').map((p) => p.message.event)).toEqual(['ready', 'accountsChanged', 'show', 'hide']);
  });

  test('resetPin in an iframe (no askRecoveryCode): FRAME_POPUP_REQUIRED before anything is shown; cancelled: 4001; no wallet: NO_WALLET_SELECTED', async () => {
    const inIframe = setup();
    await inIframe.send(request('l1', 'login', { idToken: 'token' }));
    await inIframe.send(request('r1', 'resetPin', {}));
    expect(inIframe.responses()[1]!.message).toMatchObject({ ok: false, error: { code: 'FRAME_POPUP_REQUIRED' } });
    expect(inIframe.posted.some((p) => p.message.event === 'show')).toBe(false);
    expect(inIframe.client.resetPin).not.toHaveBeenCalled();

    const cancelled = setup({ askRecoveryCode: async () => Promise.reject(new Error('cancelled')) });
    cancelled.client.listWallets.mockImplementation(async () => [{ walletId: 'w1', accounts: [], createdAt: 't' }]);
    await cancelled.send(request('l1', 'login', { idToken: 'token' }));
    await cancelled.send(request('w1', 'listWallets', {}));
    await cancelled.send(request('r1', 'resetPin', {}));
    expect(cancelled.responses()[2]!.message).toMatchObject({ ok: false, error: { name: 'ProviderRpcError', code: 4001 } });
    expect(cancelled.client.resetPin).not.toHaveBeenCalled();

    const none = setup({ askRecoveryCode: async () => 'OLDC-ODE0' });
    await none.send(request('l1', 'login', { idToken: 'token' }));
    await none.send(request('r1', 'resetPin', {}));
    expect(none.responses()[1]!.message).toMatchObject({ ok: false, error: { code: 'NO_WALLET_SELECTED' } });
  });

  test('newRecoveryCode: the PIN on the pad (an iframe too), the new code shown in the frame; the app learns only that it happened', async () => {
    const screen: string[] = [];
    const { send, responses, posted, client } = setup({
      askPin: async ({ title }) => {
        screen.push(title);
        return '493817';
      },
      showRecoveryCode: async (code) => void screen.push(`shown ${code}`),
    });
    await send(request('l1', 'login', { idToken: 'token' }));
    await send(request('n0', 'newRecoveryCode', {}));
    expect(responses()[1]!.message).toMatchObject({ ok: false, error: { code: 'NO_WALLET_SELECTED' } });
    client.listWallets.mockImplementation(async () => [{ walletId: 'w1', accounts: [], createdAt: 't' }]);
    await send(request('w1', 'listWallets', {}));
    await send(request('n1', 'newRecoveryCode', {}));
    expect(screen).toEqual(['Approve a new recovery code with your PIN', 'shown NEXT-CODE']);
    expect(client.newRecoveryCode).toHaveBeenCalledWith('w1', '493817');
    expect(responses()[3]!.message).toMatchObject({ id: 'n1', ok: true, result: null });
    expect(JSON.stringify(posted)).not.toMatch(/493817|NEXT-CODE/);
  });

  test('createWallet selects the wallet from what the API answered: no read after the code was shown, which could fail it', async () => {
    const { send, responses, client } = setup();
    client.getWallet.mockImplementation(async () => {
      throw Object.assign(new Error('the table did not answer'), { code: 'UNAVAILABLE' });
    });
    await send(request('l1', 'login', { idToken: 'token' }));
    await send(request('c1', 'createWallet', {}));
    expect(responses()[1]!.message).toMatchObject({ id: 'c1', ok: true, result: { walletId: 'w1' } });
    expect(client.getWallet).not.toHaveBeenCalled();
    // The wallet made is the one selected: the provider signs with it.
    expect((client.toEip1193Provider.mock.calls as unknown as unknown[][]).map((call) => call[0])).toEqual(['w1']);
  });

  test('a cancelled PIN pad is EIP-1193 4001 and nothing is created', async () => {
    const { send, responses, client } = setup({ askPin: () => Promise.reject(new Error('cancelled')) });
    await send(request('l1', 'login', { idToken: 'token' }));
    await send(request('c2', 'createWallet', {}));
    expect(client.createWallet).not.toHaveBeenCalled();
    expect(responses()[1]!.message).toMatchObject({ id: 'c2', ok: false, error: { name: 'ProviderRpcError', code: 4001 } });
  });

  test('before a login (and after a logout) no pad is shown: createWallet is refused at once with UNAUTHENTICATED', async () => {
    const askPin = jest.fn(async () => '493817');
    const { send, responses, client, posted } = setup({ askPin });
    (client as unknown as { logout: () => Promise<void> }).logout = async () => undefined;
    await send(request('c3', 'createWallet', {}));
    await send(request('l1', 'login', { idToken: 'token' }));
    await send(request('o1', 'logout', {}));
    await send(request('c4', 'createWallet', {}));
    const byId = Object.fromEntries(responses().map((r) => [r.message.id, r.message]));
    for (const id of ['c3', 'c4'])
      expect(byId[id]).toMatchObject({ ok: false, error: { name: 'EnclaveWalletApiError', code: 'UNAUTHENTICATED', status: 401 } });
    expect(askPin).not.toHaveBeenCalled();
    expect(client.createWallet).not.toHaveBeenCalled();
    expect(posted.filter((p) => p.message.kind === 'event').map((p) => p.message.event)).not.toContain('show');
  });

  test('a pad that refuses because it was not seen (FRAME_NOT_VISIBLE) says so, not as a cancel', async () => {
    const { send, responses, client } = setup({
      askPin: () => Promise.reject(Object.assign(new Error('the PIN pad was tapped while it was hidden'), { code: 'FRAME_NOT_VISIBLE' })),
    });
    await send(request('l1', 'login', { idToken: 'token' }));
    await send(request('c5', 'createWallet', {}));
    expect(client.createWallet).not.toHaveBeenCalled();
    expect(responses()[1]!.message).toMatchObject({ id: 'c5', ok: false, error: { name: 'Error', code: 'FRAME_NOT_VISIBLE' } });
  });

  test('the provider before a wallet is selected: no accounts, the chain id, 4100 for anything that needs an account', async () => {
    const { send, responses } = setup();
    await send(request('e1', 'eip1193', { method: 'eth_accounts' }));
    await send(request('e2', 'eip1193', { method: 'eth_chainId' }));
    await send(request('e3', 'eip1193', { method: 'eth_sendTransaction', params: [{}] }));
    await send(request('e4', 'solanaAddress', {}));
    const byId = Object.fromEntries(responses().map((r) => [r.message.id, r.message]));
    expect(byId.e1).toMatchObject({ ok: true, result: [] });
    expect(byId.e2).toMatchObject({ ok: true, result: '0x7a69' });
    expect(byId.e3).toMatchObject({ ok: false, error: { name: 'ProviderRpcError', code: 4100 } });
    expect(byId.e4).toMatchObject({ ok: false, error: { code: 'NO_WALLET_SELECTED' } });
  });

  test('eth_requestAccounts after a login selects the first wallet (a returning user); with none, 4100 says to create one', async () => {
    const { send, responses, client, posted } = setup();
    (client.toEip1193Provider as jest.Mock).mockImplementation((() => ({
      request: async ({ method }: { method: string }) => (method === 'eth_requestAccounts' ? ['0xabc'] : null),
      on: () => undefined,
      removeListener: () => undefined,
    })) as never);
    await send(request('r0', 'eip1193', { method: 'eth_requestAccounts' }));
    await send(request('l1', 'login', { idToken: 'token' }));
    await send(request('r1', 'eip1193', { method: 'eth_requestAccounts' }));
    client.listWallets.mockImplementation(async () => [{ walletId: 'w1', accounts: [], createdAt: 't' }]);
    await send(request('r2', 'eip1193', { method: 'eth_requestAccounts' }));
    const byId = Object.fromEntries(responses().map((r) => [r.message.id, r.message]));
    expect(byId.r0).toMatchObject({ ok: false, error: { code: 4100, message: expect.stringMatching(/^no account yet: log in first/) } });
    expect(byId.r1).toMatchObject({ ok: false, error: { code: 4100, message: expect.stringMatching(/^no wallet yet: createWallet makes one/) } });
    expect(byId.r2).toMatchObject({ ok: true, result: ['0xabc'] });
    expect((client.getWallet.mock.calls as unknown as unknown[][]).map((call) => call[0])).toEqual(['w1']);
    expect(posted.filter((p) => p.message.event === 'accountsChanged')).toHaveLength(1);
  });

  test('an answer the browser cannot copy is answered as that error, not left unanswered', async () => {
    const { send, responses, client } = setup();
    client.toEip1193Provider.mockImplementation(() => ({
      request: async () => ({ notCopyable: () => 1 }) as never,
      on: () => undefined,
      removeListener: () => undefined,
    }));
    await send(request('l1', 'login', { idToken: 'token' }));
    await send(request('s1', 'selectWallet', { walletId: 'w1' }));
    await send(request('e1', 'eip1193', { method: 'eth_accounts' }));
    expect(responses().map((r) => r.message.id)).toEqual(['l1', 's1', 'e1']);
    expect(responses()[2]!.message).toMatchObject({ ok: false, error: { code: 'FRAME_ERROR', message: expect.stringMatching(/could not be cloned/) } });
  });

  test('after stop, nothing is answered', async () => {
    const { send, responses, stop } = setup();
    stop();
    await send(request('s1', 'eip1193', { method: 'eth_accounts' }));
    expect(responses()).toEqual([]);
  });
});

describe('the app side', () => {
  function setup() {
    const win = new EventTarget();
    (globalThis as { window?: unknown }).window = win;
    const sent: Array<{ message: { id: string; method: string; params: unknown }; origin: string }> = [];
    const target = { postMessage: (message: never, origin: string) => sent.push({ message, origin }), closed: false };
    const iframe = { style: { display: 'none' } };
    const announced: unknown[] = [];
    win.addEventListener('eip6963:announceProvider', (e) => announced.push((e as CustomEvent).detail));
    const conn = connection({ mode: 'iframe', target: target as never, iframe: iframe as never, close: () => undefined }, FRAME);
    const reply = (data: unknown, origin = FRAME, source: unknown = target): void => void win.dispatchEvent(messageEvent(data, origin, source));
    const response = (id: string, body: { result: unknown } | { error: unknown }): FrameResponse =>
      ({
        protocol: FRAME_PROTOCOL,
        kind: 'response',
        id,
        ...('result' in body ? { ok: true, result: body.result } : { ok: false, error: body.error }),
      }) as FrameResponse;
    return { win, sent, target, iframe, announced, conn, reply, response };
  }

  test('requests go to the frame origin only, each with its own id; only the frame window on the frame origin can answer', async () => {
    const { sent, conn, reply, response } = setup();
    const accounts = conn.provider.request({ method: 'eth_accounts' });
    const wallets = conn.listWallets();
    expect(sent.map((s) => s.origin)).toEqual([FRAME, FRAME]);
    expect(sent[0]!.message).toMatchObject({ method: 'eip1193', params: { method: 'eth_accounts' } });
    const [a, b] = sent.map((s) => s.message.id);
    expect(a).not.toBe(b);
    let settled = false;
    void accounts.then(() => (settled = true));
    // Another origin, another window, an unknown id: ignored.
    reply(response(a!, { result: ['0xevil'] }), 'https://evil.example.com');
    reply(response(a!, { result: ['0xevil'] }), FRAME, { postMessage() {} });
    reply(response('not-an-id', { result: ['0xevil'] }));
    await tick();
    expect(settled).toBe(false);
    reply(response(a!, { result: ['0xabc'] }));
    await expect(accounts).resolves.toEqual(['0xabc']);
    // A second answer to the same id changes nothing.
    reply(response(b!, { result: [] }));
    reply(response(b!, { result: ['late'] }));
    await expect(wallets).resolves.toEqual([]);
  });

  test('an error answer rejects with the SDK error class', async () => {
    const { sent, conn, reply, response } = setup();
    const p = conn.provider.request({ method: 'personal_sign', params: ['0x00', '0xabc'] });
    reply(response(sent[0]!.message.id, { error: { name: 'ProviderRpcError', code: 4001, message: 'the user rejected the request' } }));
    await expect(p).rejects.toBeInstanceOf(ProviderRpcError);
    await expect(p).rejects.toMatchObject({ code: 4001 });
  });

  test('FRAME_NOT_VISIBLE from the frame rejects with WalletFrameError of that code', async () => {
    const { sent, conn, reply, response } = setup();
    const p = conn.createWallet();
    reply(response(sent[0]!.message.id, { error: { name: 'Error', code: 'FRAME_NOT_VISIBLE', message: 'use popup mode' } }));
    await expect(p).rejects.toBeInstanceOf(WalletFrameError);
    await expect(p).rejects.toMatchObject({ code: 'FRAME_NOT_VISIBLE', message: 'use popup mode' });
  });

  test('show / hide from the frame toggle the iframe; from anyone else they do nothing', () => {
    const { iframe, reply } = setup();
    reply({ protocol: FRAME_PROTOCOL, kind: 'event', event: 'show' }, 'https://evil.example.com');
    expect(iframe.style.display).toBe('none');
    reply({ protocol: FRAME_PROTOCOL, kind: 'event', event: 'show' });
    expect(iframe.style.display).toBe('block');
    reply({ protocol: FRAME_PROTOCOL, kind: 'event', event: 'hide' });
    expect(iframe.style.display).toBe('none');
  });

  test('EIP-6963: announced at once and again on request, with a v4 uuid, a name, a data-URI icon and an rdns', () => {
    const { win, announced, conn } = setup();
    expect(announced).toHaveLength(1);
    win.dispatchEvent(new Event('eip6963:requestProvider'));
    expect(announced).toHaveLength(2);
    const detail = announced[0] as { info: Record<string, string>; provider: unknown };
    expect(detail.provider).toBe(conn.provider);
    expect(detail.info.uuid).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(detail.info).toMatchObject({ name: 'Enclave Wallet', rdns: 'org.enclave-wallet' });
    expect(detail.info.icon).toMatch(/^data:image\/svg\+xml,%3Csvg%20/);
    expect(Object.isFrozen(detail)).toBe(true);
  });

  test('a frame that says ready again (reloaded) fails the requests in flight with FRAME_CLOSED, says no accounts; later ones go to it', async () => {
    const { sent, conn, reply, response } = setup();
    const accounts: unknown[] = [];
    conn.provider.on('accountsChanged', (a: unknown) => accounts.push(a));
    const lost = conn.createWallet();
    reply({ protocol: FRAME_PROTOCOL, kind: 'event', event: 'ready' });
    await expect(lost).rejects.toMatchObject({ code: 'FRAME_CLOSED', message: expect.stringMatching(/reloaded/) });
    expect(accounts).toEqual([[]]);
    const next = conn.listWallets();
    reply(response(sent[1]!.message.id, { result: [] }));
    await expect(next).resolves.toEqual([]);
  });

  /** A frame window whose `closed` can be set, counting how often it is read. */
  const frameWindow = () => {
    const w = { postMessage: (_m: unknown, _o: string) => undefined, shut: false, reads: 0 };
    Object.defineProperty(w, 'closed', { get: () => (w.reads++, w.shut) });
    return w;
  };
  const settledOf = (p: Promise<unknown>): { done: boolean } => {
    const state = { done: false };
    p.catch(() => undefined).finally(() => (state.done = true));
    return state;
  };
  const wait = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

  test('popup mode: the user closing the popup while it asks fails the requests in flight with FRAME_CLOSED', async () => {
    setup();
    const popup = frameWindow();
    const conn = connection({ mode: 'popup', target: popup as never, close: () => undefined }, FRAME);
    const asking = conn.createWallet();
    const state = settledOf(asking);
    await wait(700);
    expect(state.done).toBe(false); // an open popup is waited for: the user may take their time
    popup.shut = true;
    await expect(asking).rejects.toMatchObject({ code: 'FRAME_CLOSED', message: 'the wallet popup was closed' });
    conn.close();
  });

  test('a reply posted just before the popup closed still settles its request', async () => {
    const { win } = setup();
    const popup = frameWindow();
    const sentIds: string[] = [];
    popup.postMessage = (m: unknown) => void sentIds.push((m as { id: string }).id);
    const conn = connection({ mode: 'popup', target: popup as never, close: () => undefined }, FRAME);
    const asking = conn.listWallets();
    popup.shut = true;
    await wait(550); // the watch has seen it closed; the reply arrives within the grace it gives
    win.dispatchEvent(messageEvent({ protocol: FRAME_PROTOCOL, kind: 'response', id: sentIds[0], ok: true, result: [] }, FRAME, popup));
    await expect(asking).resolves.toEqual([]);
    conn.close();
  });

  test('iframe mode: an iframe the page removed fails the requests in flight with FRAME_CLOSED', async () => {
    setup();
    const target = frameWindow();
    const conn = connection({ mode: 'iframe', target: target as never, iframe: { style: {} } as never, close: () => undefined }, FRAME);
    const asking = conn.listWallets();
    target.shut = true;
    await expect(asking).rejects.toMatchObject({ code: 'FRAME_CLOSED', message: 'the wallet frame was removed' });
    conn.close();
  });

  test('the window is looked at only while requests are in flight, and a request that cannot be posted leaves none', async () => {
    const { win } = setup();
    const popup = frameWindow();
    const sentIds: string[] = [];
    popup.postMessage = (m: unknown) => {
      structuredClone(m); // as the browser copies it
      sentIds.push((m as { id: string }).id);
    };
    const conn = connection({ mode: 'popup', target: popup as never, close: () => undefined }, FRAME);
    const asking = conn.listWallets();
    win.dispatchEvent(messageEvent({ protocol: FRAME_PROTOCOL, kind: 'response', id: sentIds[0], ok: true, result: [] }, FRAME, popup));
    await expect(asking).resolves.toEqual([]);
    await expect(conn.selectWallet((() => 1) as never)).rejects.toThrow(/could not be cloned/);
    // Another request, answered: with nothing left in flight, the watch stops at its next look.
    const again = conn.listWallets();
    win.dispatchEvent(messageEvent({ protocol: FRAME_PROTOCOL, kind: 'response', id: sentIds[1], ok: true, result: [] }, FRAME, popup));
    await expect(again).resolves.toEqual([]);
    await wait(1_100);
    const reads = popup.reads;
    await wait(1_100);
    expect(popup.reads).toBe(reads);
    conn.close();
  });

  test('close: pending requests fail with FRAME_CLOSED, later ones too, and the frame is no longer announced', async () => {
    const { win, announced, conn } = setup();
    const pending = conn.listWallets();
    conn.close();
    await expect(pending).rejects.toMatchObject({ code: 'FRAME_CLOSED' });
    await expect(conn.listWallets()).rejects.toMatchObject({ code: 'FRAME_CLOSED' });
    win.dispatchEvent(new Event('eip6963:requestProvider'));
    expect(announced).toHaveLength(1);
  });
});
