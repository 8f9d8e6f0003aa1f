/**
 * A call given something that is not a wallet id (src/attested.ts, walletPath) fails at once with VALIDATION_FAILED,
 * before a PIN is asked for and before anything is sent: not as a request for `/v1/wallets/undefined`. (A `fetch` that
 * records what it is asked for; a session set as an app restores one.)
 */
import { createClient, EnclaveWalletApiError } from '../src/index.js';

const root = new Uint8Array([0x30, 0x00]);

function setup(): { client: ReturnType<typeof createClient>; sent: string[]; asked: string[] } {
  const sent: string[] = [];
  const asked: string[] = [];
  const fetch = (input: string | URL | Request): Promise<Response> => {
    sent.push(String(input));
    return Promise.resolve(new Response(JSON.stringify({ error: { code: 'WALLET_NOT_FOUND', message: 'no such wallet' } }), { status: 404 }));
  };
  const client = createClient({ baseUrl: 'http://127.0.0.1:8080', root, fetch });
  client.setSession({
    accessToken: 'a',
    refreshToken: 'r',
    expiresAt: Date.now() + 600_000,
    user: { id: 'usr_1', email: 'a@example.com', provider: 'https://issuer.example' },
  });
  return { client, sent, asked };
}

const notIds: [string, unknown, string][] = [
  ['undefined (a misspelt field)', undefined, 'undefined'],
  ['null', null, 'null'],
  ['an empty string', '', 'an empty string'],
  ['an object (the wallet, not its id)', { walletId: 'w' }, 'object'],
  ['a string longer than any id', 'w'.repeat(257), 'a string of 257 characters'],
];

test.each(notIds)('%s: every wallet call refuses it with VALIDATION_FAILED, nothing sent, no PIN asked', async (_, walletId, named) => {
  const { client, sent, asked } = setup();
  const id = walletId as string;
  const getPin = (): Promise<string> => {
    asked.push('pin');
    return Promise.resolve('493817');
  };
  const address = '0x000000000000000000000000000000000000dEaD' as const;
  const calls: [string, () => Promise<unknown>][] = [
    ['getWallet', () => client.getWallet(id)],
    ['listFactors', () => client.listFactors(id)],
    ['getBalances', () => client.getBalances(id, { network: 'evm', chainId: 31337 })],
    ['deriveAccount', () => client.deriveAccount(id, 'evm', 1, '493817')],
    ['changePin', () => client.changePin(id, '493817', '864209')],
    ['signEvmMessage', () => client.signEvmMessage(id, 'hello', { getPin })],
    ['signEvmMessage with an address', () => client.signEvmMessage(id, 'hello', { getPin, address })],
  ];
  for (const [name, call] of calls) {
    const err = await call().then(
      () => new Error(`${name} settled`),
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(EnclaveWalletApiError);
    expect(err).toMatchObject({ code: 'VALIDATION_FAILED', status: 0 });
    expect((err as Error).message).toBe(`walletId must be a wallet's id (the walletId of createWallet or listWallets), not ${named}; nothing was sent`);
  }
  expect(sent).toEqual([]);
  expect(asked).toEqual([]);
});

test('a wallet id is sent as it is, escaped in the path', async () => {
  const { client, sent } = setup();
  await expect(client.getWallet('a/b?c')).rejects.toMatchObject({ code: 'WALLET_NOT_FOUND', status: 404 });
  expect(sent).toEqual(['http://127.0.0.1:8080/v1/wallets/a%2Fb%3Fc']);
});
