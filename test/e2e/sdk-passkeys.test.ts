/**
 * Passkeys through the SDK, as an app uses them (docs/passkeys.md), against the real stack (host, enclave, dynalite,
 * local KMS) and anvil, with the software authenticator of test/support/authenticator.ts standing behind the SDK's
 * `passkeys.credentials` (what `navigator.credentials` is in a browser; the real browser: test/browser/passkeys.test.ts).
 * addPasskey with the PIN; `{ passkey: true }` for a message, an export, a PIN reset; the viem account, the EIP-1193
 * provider (a transaction anvil mines) and the Solana signer with an `authorize` callback that sees the summary;
 * removePasskey; then a passkey signature refused before anything is sent. An authenticator without PRF: refused,
 * nothing sent, nothing added.
 */
import { ed25519 } from '@noble/curves/ed25519.js';
import { fromBase64Url, type PasskeyBinding } from '@enclave-wallet/proto/passkey';
import { base58 } from '@scure/base';
import { createPublicClient, createWalletClient, http, verifyMessage, verifyTypedData, type Address, type Hex } from 'viem';
import { foundry } from 'viem/chains';
import { createClient, EnclaveWalletApiError, type EnclaveWallet, type PasskeyCredentials } from '@enclave-wallet/client';
import { readDevRoot } from '../../devtools/src/nsm/index.js';
import { startAnvil, type Anvil } from '../support/anvil.js';
import { SoftwareAuthenticator } from '../support/authenticator.js';
import { startStack, type Stack } from '../support/stack.js';

let stack: Stack;
let anvil: Anvil;
const requests: string[] = [];

/**
 * `navigator.credentials` for the SDK, answered by a software authenticator: `create` gives its credential, `get`
 * its assertion over the challenge and its PRF output for the salt the SDK asked with (none when `prf` is false).
 */
function credentialsOf(authenticator: SoftwareAuthenticator, o: { prf?: boolean } = {}): PasskeyCredentials & { asked: string[]; refuse: boolean } {
  const asked: string[] = [];
  const anyBinding: PasskeyBinding = { purpose: 'sign', sub: '', exp: 1, nonce: '' };
  const state: PasskeyCredentials & { asked: string[]; refuse: boolean } = {
    asked,
    /** Answer as a browser does when the user closes the prompt or fails verification. */
    refuse: false,
    async create() {
      asked.push('create');
      return {
        rawId: authenticator.credentialId,
        response: { clientDataJSON: new Uint8Array(0), getPublicKey: () => authenticator.publicKey, getPublicKeyAlgorithm: () => authenticator.algorithm },
        getClientExtensionResults: () => ({ prf: { enabled: o.prf !== false } }),
      };
    },
    async get({ publicKey }) {
      asked.push('get');
      if (state.refuse) throw new DOMException('The operation either timed out or was not allowed.', 'NotAllowedError');
      const p = publicKey as { challenge: Uint8Array; userVerification: string; extensions: { prf: { eval: { first: Uint8Array } } } };
      expect(p.userVerification).toBe('required');
      const a = authenticator.assert(anyBinding, { challenge: new Uint8Array(p.challenge), prfSalt: new Uint8Array(p.extensions.prf.eval.first) });
      return {
        rawId: authenticator.credentialId,
        response: {
          authenticatorData: fromBase64Url(a.passkey.authenticatorData),
          clientDataJSON: fromBase64Url(a.passkey.clientDataJSON),
          signature: fromBase64Url(a.passkey.signature),
          userHandle: null,
        },
        getClientExtensionResults: () => (o.prf === false ? { prf: {} } : { prf: { results: { first: fromBase64Url(a.prf) } } }),
      };
    },
  };
  return state;
}

async function newClient(email: string, credentials: PasskeyCredentials): Promise<EnclaveWallet> {
  const recording: typeof fetch = (input, init) => {
    requests.push(`${init?.method ?? 'GET'} ${new URL(String(input)).pathname}`);
    return fetch(input, init);
  };
  const client = createClient({
    baseUrl: stack.url,
    root: readDevRoot(stack.caDir),
    fetch: recording,
    rpc: { evm: { 31337: anvil.rpc } },
    passkeys: { credentials, rpId: 'localhost' },
  });
  await client.login(await stack.issuer.sign({ email }));
  return client;
}

const errorOf = (p: Promise<unknown>): Promise<EnclaveWalletApiError> =>
  p.then(
    () => {
      throw new Error('expected a refusal');
    },
    (e: unknown) => {
      if (!(e instanceof EnclaveWalletApiError)) throw e;
      return e;
    },
  );

beforeAll(async () => {
  stack = await startStack();
  anvil = await startAnvil();
}, 60_000);
afterAll(async () => {
  anvil?.stop();
  await stack?.close();
});

test('add a passkey with the PIN; sign, export, reset the PIN with it; viem, EIP-1193 and Solana with authorize; remove it', async () => {
  const authenticator = new SoftwareAuthenticator();
  const credentials = credentialsOf(authenticator);
  const client = await newClient('sdk-passkeys@example.com', credentials);
  const wallet = await client.createWallet('493817');
  const { walletId } = wallet;
  const evm = wallet.accounts.find((a) => a.network === 'evm')!.address as Address;
  const sol = wallet.accounts.find((a) => a.network === 'solana')!.address;

  // No passkey yet: refused before the authenticator is asked or anything is sent.
  const before = requests.length;
  expect(await errorOf(client.signEvmMessage(walletId, 'x', { passkey: true }))).toMatchObject({ code: 'FACTOR_NOT_FOUND', status: 0 });
  expect(requests.slice(before).filter((r) => r.startsWith('POST'))).toEqual([]);
  expect(credentials.asked).toEqual([]);

  const { credentialId } = await client.addPasskey(walletId, { pin: '493817' });
  expect(fromBase64Url(credentialId)).toEqual(new Uint8Array(authenticator.credentialId));
  expect(credentials.asked).toEqual(['create', 'get']);
  const factors = await client.listFactors(walletId);
  expect(factors.filter((f) => f.kind === 'passkey')).toEqual([expect.objectContaining({ kind: 'passkey', credentialId })]);
  // The same credential again: the enclave refuses it.
  expect((await errorOf(client.addPasskey(walletId, { pin: '493817' }))).code).toBe('PASSKEY_EXISTS');

  const signature = await client.signEvmMessage(walletId, 'signed with a passkey', { passkey: true });
  expect(await verifyMessage({ address: evm, message: 'signed with a passkey', signature })).toBe(true);

  // authorize: called once per signature with the decoded summary, answers the passkey.
  const seen: string[] = [];
  const authorize = ({ summary }: { summary: { kind: string } }) => {
    seen.push(summary.kind);
    return { passkey: true as const };
  };
  const account = await client.toViemAccount(walletId, { authorize });
  const viaViem = await account.signMessage({ message: 'viem with a passkey' });
  expect(await verifyMessage({ address: evm, message: 'viem with a passkey', signature: viaViem })).toBe(true);
  const typedData = {
    domain: { name: 'Passkeys', version: '1', chainId: 31337 },
    types: { Note: [{ name: 'text', type: 'string' }] },
    primaryType: 'Note' as const,
    message: { text: 'typed, with a passkey' },
  };
  expect(await verifyTypedData({ address: evm, ...typedData, signature: await account.signTypedData(typedData) })).toBe(true);
  const chain = createPublicClient({ chain: foundry, transport: http(anvil.rpc) });
  await chain.request({ method: 'anvil_setBalance' as never, params: [evm, '0xde0b6b3a7640000'] as never });
  const hash = await createWalletClient({ account, chain: foundry, transport: http(anvil.rpc) }).sendTransaction({
    to: '0x70997970C51812dc3A010C7d01b50e0d17dc79C8',
    value: 1000n,
  });
  expect((await chain.waitForTransactionReceipt({ hash })).from).toBe(evm.toLowerCase());

  const provider = client.toEip1193Provider(walletId, { authorize, rpcUrl: anvil.rpc, chainId: 31337 });
  const viaProvider = (await provider.request({ method: 'personal_sign', params: ['0x68656c6c6f', evm] })) as Hex;
  expect(await verifyMessage({ address: evm, message: 'hello', signature: viaProvider })).toBe(true);

  const signer = await client.solanaSigner(walletId, { authorize });
  const solSignature = await signer.signMessage(new TextEncoder().encode('solana, with a passkey'));
  expect(ed25519.verify(solSignature, new TextEncoder().encode('solana, with a passkey'), base58.decode(sol))).toBe(true);
  expect(seen).toEqual(['evm-message', 'evm-typed-data', 'evm-transaction', 'evm-message', 'solana-message']);

  // The user closes the passkey prompt: the SDK says PASSKEY_CANCELLED; the provider answers EIP-1193's 4001.
  credentials.refuse = true;
  const sent = requests.length;
  expect(await errorOf(account.signMessage({ message: 'closed' }))).toMatchObject({ code: 'PASSKEY_CANCELLED', status: 0 });
  await expect(provider.request({ method: 'personal_sign', params: ['0x68656c6c6f', evm] })).rejects.toMatchObject({ code: 4001 });
  expect(requests.slice(sent).filter((r) => r.startsWith('POST'))).toEqual([]);
  credentials.refuse = false;

  // authorize may answer the PIN too.
  const withPin = await client.signEvmMessage(walletId, 'pin via authorize', { authorize: () => ({ pin: '493817' }) });
  expect(await verifyMessage({ address: evm, message: 'pin via authorize', signature: withPin })).toBe(true);

  expect((await client.exportRecoveryPhrase(walletId, { passkey: true })).split(' ')).toHaveLength(24);

  // A forgotten PIN, reset with the passkey: the old PIN fails, the new one signs, the recovery code is kept.
  expect(await client.resetPin(walletId, { passkey: true }, '270394')).toBeUndefined();
  expect((await errorOf(client.signEvmMessage(walletId, 'x', { pin: '493817' }))).code).toBe('PIN_INVALID');
  await client.signEvmMessage(walletId, 'new PIN', { pin: '270394' });
  expect((await client.listFactors(walletId)).map((f) => f.kind)).toEqual(expect.arrayContaining(['pin', 'recovery-code', 'passkey']));

  // Removed with the PIN: gone from the factors; a passkey signature is refused before anything is sent.
  await client.removePasskey(walletId, credentialId, { pin: '270394' });
  expect((await client.listFactors(walletId)).filter((f) => f.kind === 'passkey')).toEqual([]);
  const asked = credentials.asked.length;
  expect(await errorOf(client.signEvmMessage(walletId, 'x', { passkey: true }))).toMatchObject({ code: 'FACTOR_NOT_FOUND', status: 0 });
  expect(credentials.asked.length).toBe(asked);
}, 120_000);

test('an authenticator without PRF: PASSKEY_PRF_UNSUPPORTED in words, nothing sent, nothing added', async () => {
  const credentials = credentialsOf(new SoftwareAuthenticator(), { prf: false });
  const client = await newClient('sdk-passkeys-no-prf@example.com', credentials);
  const { walletId } = await client.createWallet('493817');
  const before = requests.length;
  const err = await errorOf(client.addPasskey(walletId, { pin: '493817' }));
  expect(err).toMatchObject({ code: 'PASSKEY_PRF_UNSUPPORTED', status: 0 });
  expect(err.message).toMatch(/prf extension.*nothing was added$/);
  expect(credentials.asked).toEqual(['create']);
  expect(requests.slice(before).filter((r) => r.includes('/passkeys'))).toEqual([]);
  expect((await client.listFactors(walletId)).map((f) => f.kind)).toEqual(['pin', 'recovery-code']);
});
