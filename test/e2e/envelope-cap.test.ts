/**
 * The enclave's cap on one user's live PIN envelopes (ENCLAVE_ENVELOPES_PER_USER, envelope/replay.ts), as an app
 * sees it through the SDK: at the cap a user's requests are RATE_LIMITED with a time to retry, one request at a time
 * or many at once, and other users go on. The launcher and the benchmark raise it with RATE_LIMITS=off
 * (docs/configuration.md).
 */
import { createClient, EnclaveWalletApiError, type EnclaveWallet } from '@enclave-wallet/client';
import { readDevRoot } from '../../devtools/src/nsm/index.js';
import { startStack, type Stack } from '../support/stack.js';

const PIN = '493817';
const CAP = 12;
let stack: Stack;

beforeAll(async () => {
  stack = await startStack({ enclaveEnv: { ENCLAVE_ENVELOPES_PER_USER: String(CAP) } });
}, 60_000);
afterAll(async () => {
  await stack.close();
});

async function user(email: string): Promise<EnclaveWallet> {
  const client = createClient({ baseUrl: stack.url, root: readDevRoot(stack.caDir) });
  await client.login(await stack.issuer.sign({ email }));
  return client;
}

test(`a user at ENCLAVE_ENVELOPES_PER_USER (${CAP}) live envelopes is RATE_LIMITED, also when many signatures come at once; other users are not`, async () => {
  const alice = await user('alice-cap@example.com');
  const wallet = await alice.createWallet(PIN); // one envelope
  // Sixteen at once on one wallet: the first CAP − 1 envelopes to arrive are taken, the others refused before any
  // work, each with a time to retry; nothing else fails.
  const outcomes = await Promise.all(
    Array.from({ length: 16 }, (_, i) =>
      alice.signEvmMessage(wallet.walletId, `at once ${i}`, { pin: PIN }).then(
        (s) => ({ ok: true as const, signature: s }),
        (e: unknown) => ({ ok: false as const, error: e }),
      ),
    ),
  );
  const refused = outcomes.flatMap((o) => (o.ok ? [] : [o.error]));
  expect(outcomes.filter((o) => o.ok)).toHaveLength(CAP - 1);
  expect(refused).toHaveLength(16 - (CAP - 1));
  for (const e of refused) {
    expect(e).toBeInstanceOf(EnclaveWalletApiError);
    expect(e).toMatchObject({ code: 'RATE_LIMITED', status: 429, retryAfter: 5 });
  }
  // One more, alone: still refused (the cap holds until envelopes expire: exp + 30 s).
  await expect(alice.signEvmMessage(wallet.walletId, 'one more', { pin: PIN })).rejects.toMatchObject({ code: 'RATE_LIMITED' });

  // Another user of the same enclave is not affected.
  const bob = await user('bob-cap@example.com');
  const bobs = await bob.createWallet(PIN);
  await expect(bob.signEvmMessage(bobs.walletId, 'hello', { pin: PIN })).resolves.toMatch(/^0x[0-9a-f]{130}$/);
}, 60_000);
