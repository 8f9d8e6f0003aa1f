/**
 * The SDK as an app developer uses it, against the in-process stack and a
 * real anvil: createClient with the dev root, login, every wallet call, a
 * viem wallet client sending transactions that anvil mines, signatures
 * verified by viem, the EIP-1193 provider answering a dapp, the Solana
 * signer checked with independent ed25519 code and @solana/kit, typed errors,
 * token refresh, and clients that must refuse to send a PIN.
 */
import { ed25519 } from '@noble/curves/ed25519.js';
import { base58 } from '@scure/base';
import { copyFileSync, mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createPublicClient, createWalletClient, http, parseEther, recoverTypedDataAddress, verifyMessage, type Address, type Hex } from 'viem';
import { mnemonicToAccount } from 'viem/accounts';
import { foundry } from 'viem/chains';
import {
  address as kitAddress,
  appendTransactionMessageInstruction,
  compileTransaction,
  createTransactionMessage,
  getBase58Decoder,
  pipe,
  setTransactionMessageFeePayer,
  setTransactionMessageLifetimeUsingBlockhash,
  type Blockhash,
} from '@solana/kit';
import { getOffchainMessageDecoder, verifyOffchainMessageEnvelope } from '@solana/kit';
import { AttestationError, createClient, EnclaveWalletApiError, type EnclaveWallet, type PinRequest, type Session, type Wallet } from '@enclave-wallet/client';
import { fiveSolToAttacker } from '../support/solana-messages.js';
import { readDevRoot } from '../../devtools/src/nsm/index.js';
import { startAnvil, type Anvil } from '../support/anvil.js';
import { startStack, type Stack } from '../support/stack.js';
import { MAIL_EXAMPLE } from '../support/eip712-mail.js';

let stack: Stack;
let anvil: Anvil;
let client: EnclaveWallet;
let wallet: Wallet;
let evm: Address;
const PIN = '493817';
const pins: PinRequest[] = [];
const getPin = (request: PinRequest): string => {
  pins.push(request);
  return PIN;
};

beforeAll(async () => {
  anvil = await startAnvil();
  stack = await startStack();
  client = createClient({ baseUrl: stack.url, root: readDevRoot(stack.caDir) });
  await client.login(await stack.issuer.sign({ email: 'sdk@example.com' }));
  wallet = await client.createWallet(PIN);
  evm = wallet.accounts.find((a) => a.network === 'evm')!.address as Address;
}, 60_000);
afterAll(async () => {
  await stack.close();
  anvil.stop();
});

describe('wallet calls', () => {
  test('login, create, list, get, derive: typed results', async () => {
    expect(client.session!.user.email).toBe('sdk@example.com');
    expect(wallet.accounts.map((a) => a.network)).toEqual(['evm', 'solana', 'bitcoin']);
    expect((await client.listWallets()).map((w) => w.walletId)).toContain(wallet.walletId);
    expect(await client.getWallet(wallet.walletId)).toEqual(wallet);
    const account = await client.deriveAccount(wallet.walletId, 'evm', 1, PIN);
    expect(account).toMatchObject({ network: 'evm', index: 1, path: "m/44'/60'/0'/0/1" });
  });

  test('a wrong PIN is one EnclaveWalletApiError carrying the API’s code, status, request id and attempts left', async () => {
    const err = (await client.signEvmMessage(wallet.walletId, 'x', { pin: '000000' }).catch((e: unknown) => e)) as EnclaveWalletApiError;
    expect(err).toBeInstanceOf(EnclaveWalletApiError);
    expect(err).toMatchObject({ code: 'PIN_INVALID', status: 422, attemptsLeft: 4 });
    expect(err.requestId).toMatch(/^[0-9a-f-]{36}$/);
    // The right PIN resets the count.
    await client.signEvmMessage(wallet.walletId, 'x', { pin: PIN });
  });

  test('export returns the phrase, which derives the same address; import restores it; change PIN takes effect', async () => {
    const phrase = await client.exportRecoveryPhrase(wallet.walletId, PIN);
    expect(phrase.split(' ')).toHaveLength(24);
    expect(mnemonicToAccount(phrase).address).toBe(evm);
    const restored = await client.importWallet(phrase, '270394');
    expect(restored.accounts[0]!.address).toBe(evm);
    await client.changePin(restored.walletId, '270394', '615283');
    await expect(client.signEvmMessage(restored.walletId, 'x', { pin: '270394' })).rejects.toMatchObject({ code: 'PIN_INVALID' });
    expect(await verifyMessage({ address: evm, message: 'x', signature: await client.signEvmMessage(restored.walletId, 'x', { pin: '615283' }) })).toBe(true);
  });

  test('the session refreshes by itself before it expires, and once on a 401', async () => {
    const before = client.session!;
    // Near expiry: the next call refreshes first.
    client.setSession({ ...before, expiresAt: Date.now() + 5_000 });
    await client.listWallets();
    expect(client.session!.refreshToken).not.toBe(before.refreshToken);
    // A rejected access token: one refresh, then the call succeeds.
    const refreshed = client.session!;
    client.setSession({ ...refreshed, accessToken: 'not-a-token', expiresAt: Date.now() + 3_600_000 });
    expect((await client.listWallets()).length).toBeGreaterThan(0);
    expect(client.session!.refreshToken).not.toBe(refreshed.refreshToken);
  });

  test('a refresh whose answer is lost on the way (the host rotated the token) is sent again: the session goes on', async () => {
    let cut = 0;
    const refreshes: number[] = [];
    // The connection drops after the host answered: the host used the token, the SDK never sees the new one.
    const flaky: typeof fetch = async (input, init) => {
      const res = await fetch(input, init);
      if (String(input).endsWith('/v1/auth/refresh')) {
        refreshes.push(res.status);
        if (cut++ === 0) {
          await res.arrayBuffer();
          throw new TypeError('fetch failed');
        }
      }
      return res;
    };
    const app = createClient({ baseUrl: stack.url, root: readDevRoot(stack.caDir), fetch: flaky });
    await app.login(await stack.issuer.sign({ email: 'sdk@example.com' }));
    const lostFrom = app.session!;
    app.setSession({ ...lostFrom, expiresAt: Date.now() + 5_000 });
    expect((await app.listWallets()).map((w) => w.walletId)).toContain(wallet.walletId);
    expect(refreshes).toEqual([200, 200]);
    // Still a live session: it refreshes again, and signs.
    await app.refresh();
    expect(
      await verifyMessage({
        address: evm,
        message: 'after a lost refresh',
        signature: await app.signEvmMessage(wallet.walletId, 'after a lost refresh', { pin: PIN }),
      }),
    ).toBe(true);
  });

  test('a refresh cut by its deadline after the host rotated the token: refresh() again keeps the session', async () => {
    let stall = true;
    // The host answers, but the answer never reaches the app before its deadline (a phone between networks).
    const stalled: typeof fetch = async (input, init) => {
      const res = await fetch(input, init);
      if (stall && String(input).endsWith('/v1/auth/refresh')) {
        stall = false;
        await res.arrayBuffer();
        await new Promise((_, reject) => init!.signal!.addEventListener('abort', () => reject(init!.signal!.reason)));
      }
      return res;
    };
    const app = createClient({ baseUrl: stack.url, root: readDevRoot(stack.caDir), fetch: stalled, requestTimeoutMs: 3_000 });
    await app.login(await stack.issuer.sign({ email: 'sdk@example.com' }));
    await expect(app.refresh()).rejects.toMatchObject({ code: 'TIMEOUT' });
    await app.refresh();
    expect((await app.listWallets()).map((w) => w.walletId)).toContain(wallet.walletId);
  });

  test('onSession hears of every new session (login, the refreshes the SDK makes by itself) and of logout; a saved one restores', async () => {
    const heard: (string | undefined)[] = [];
    let saved: Session | undefined;
    const app = createClient({
      baseUrl: stack.url,
      root: readDevRoot(stack.caDir),
      onSession: (s) => {
        heard.push(s?.refreshToken);
        saved = s;
      },
    });
    await app.login(await stack.issuer.sign({ email: 'sdk@example.com' }));
    // Near expiry: the SDK refreshes by itself before the call, and says so.
    app.setSession({ ...app.session!, expiresAt: Date.now() + 5_000 });
    await app.listWallets();
    // Login; the refresh starting (the old token with its attempt id); the refresh done.
    expect(heard).toHaveLength(3);
    expect(heard[1]).toBe(heard[0]);
    expect(heard[2]).toBe(app.session!.refreshToken);
    expect(saved!.refreshAttempt).toBeUndefined();
    // The app restarts with what it saved last: a live session.
    const restarted = createClient({ baseUrl: stack.url, root: readDevRoot(stack.caDir) });
    restarted.setSession(saved);
    await restarted.refresh();
    expect(
      await verifyMessage({ address: evm, message: 'restored', signature: await restarted.signEvmMessage(wallet.walletId, 'restored', { pin: PIN }) }),
    ).toBe(true);
    // A logout: the app hears there is no session to keep.
    await app.logout();
    expect(heard.at(-1)).toBeUndefined();
  });
});

describe('viem', () => {
  test('signMessage and signTypedData through the LocalAccount verify with viem; getPin is asked once per signature', async () => {
    const account = await client.toViemAccount(wallet.walletId, { getPin });
    expect(account.address).toBe(evm);
    pins.length = 0;
    const signature = await account.signMessage({ message: 'hello from the SDK' });
    expect(await verifyMessage({ address: evm, message: 'hello from the SDK', signature })).toBe(true);
    const raw = await account.signMessage({ message: { raw: Uint8Array.of(1, 2, 3) } });
    expect(await verifyMessage({ address: evm, message: { raw: Uint8Array.of(1, 2, 3) }, signature: raw })).toBe(true);
    // The EIP-712 example (Mail).
    const typedData = MAIL_EXAMPLE;
    const typed = await account.signTypedData(typedData);
    expect(await recoverTypedDataAddress({ ...typedData, signature: typed })).toBe(evm);
    expect(pins).toHaveLength(3);
    // Each time with what is signed, decoded from the bytes the envelope binds.
    expect(pins.map((p) => [p.walletId, p.kind, p.address])).toEqual([
      [wallet.walletId, 'evm-message', evm],
      [wallet.walletId, 'evm-message', evm],
      [wallet.walletId, 'evm-typed-data', evm],
    ]);
    expect(pins[0]!.summary).toMatchObject({ kind: 'evm-message', signer: evm, message: { encoding: 'utf-8', text: 'hello from the SDK' } });
    expect(pins[1]!.summary).toMatchObject({ message: { encoding: 'hex', text: '0x010203' } });
    expect(pins[2]!.summary).toMatchObject({ primaryType: 'Mail', domain: { name: 'Ether Mail', chainId: '1' } });
  });

  test('a viem wallet client sends legacy, EIP-2930 and EIP-1559 transactions that anvil mines from the wallet', async () => {
    const account = await client.toViemAccount(wallet.walletId, { getPin });
    const chain = createPublicClient({ chain: foundry, transport: http(anvil.rpc) });
    await chain.request({ method: 'anvil_setBalance' as never, params: [evm, '0xde0b6b3a7640000'] as never });
    const walletClient = createWalletClient({ account, chain: foundry, transport: http(anvil.rpc) });
    for (const type of ['legacy', 'eip2930', 'eip1559'] as const) {
      const hash = await walletClient.sendTransaction({ type, to: '0x70997970C51812dc3A010C7d01b50e0d17dc79C8', value: parseEther('0.001') } as never);
      const receipt = await chain.waitForTransactionReceipt({ hash });
      expect({ type, status: receipt.status, from: receipt.from }).toEqual({ type, status: 'success', from: evm.toLowerCase() });
    }
  }, 60_000);
});

describe('EIP-1193 provider', () => {
  test('answers a dapp: accounts, chain, personal_sign, typed data, transactions filled from the node; eth_sign refused; reads passed on; connect emitted', async () => {
    const provider = client.toEip1193Provider(wallet.walletId, { getPin, rpcUrl: anvil.rpc, chainId: 31337 });
    const connected = new Promise((r) => provider.on('connect', r));
    expect(await provider.request({ method: 'eth_requestAccounts' })).toEqual([evm]);
    expect(await provider.request({ method: 'eth_accounts' })).toEqual([evm]);
    expect(await provider.request({ method: 'eth_chainId' })).toBe('0x7a69');
    expect(await connected).toEqual({ chainId: '0x7a69' });
    const hexMessage = '0x' + Buffer.from('sign in to the dapp').toString('hex');
    const sig = (await provider.request({ method: 'personal_sign', params: [hexMessage, evm] })) as Hex;
    expect(await verifyMessage({ address: evm, message: 'sign in to the dapp', signature: sig })).toBe(true);
    await expect(provider.request({ method: 'eth_sign', params: [evm, '0x' + '11'.repeat(32)] })).rejects.toMatchObject({ code: 4200 });
    await expect(provider.request({ method: 'personal_sign', params: [hexMessage, '0x' + '22'.repeat(20)] })).rejects.toMatchObject({ code: 4100 });
    const typed = {
      domain: { name: 'Dapp', chainId: 31337 },
      types: {
        EIP712Domain: [
          { name: 'name', type: 'string' },
          { name: 'chainId', type: 'uint256' },
        ],
        Login: [{ name: 'nonce', type: 'uint256' }],
      },
      primaryType: 'Login',
      message: { nonce: 7 },
    };
    const typedSig = (await provider.request({ method: 'eth_signTypedData_v4', params: [evm, JSON.stringify(typed)] })) as Hex;
    expect(await recoverTypedDataAddress({ ...(typed as unknown as Parameters<typeof recoverTypedDataAddress>[0]), signature: typedSig })).toBe(evm);
    const chain = createPublicClient({ chain: foundry, transport: http(anvil.rpc) });
    await chain.request({ method: 'anvil_setBalance' as never, params: [evm, '0xde0b6b3a7640000'] as never });
    const hash = (await provider.request({
      method: 'eth_sendTransaction',
      params: [{ from: evm, to: '0x70997970C51812dc3A010C7d01b50e0d17dc79C8', value: '0x2386f26fc10000' }],
    })) as Hex;
    const receipt = await chain.waitForTransactionReceipt({ hash });
    expect(receipt).toMatchObject({ status: 'success', from: evm.toLowerCase() });
    // Third-party code drove the provider; the PIN prompt still says what it signs.
    expect(pins.at(-1)).toMatchObject({
      kind: 'evm-transaction',
      summary: { chain: { chainId: 31337, name: 'Anvil, local' }, to: '0x70997970C51812dc3A010C7d01b50e0d17dc79C8', value: { formatted: '0.01 ETH' } },
    });
    expect(typeof (await provider.request({ method: 'eth_blockNumber' }))).toBe('string');
    expect(await provider.request({ method: 'eth_getBalance', params: [evm, 'latest'] })).toMatch(/^0x/);
  }, 60_000);
});

describe('Solana', () => {
  test('messages and transactions (legacy wire and @solana/kit) are signed by the wallet’s Solana key, checked with noble ed25519', async () => {
    const signer = await client.solanaSigner(wallet.walletId, { getPin });
    const solana = wallet.accounts.find((a) => a.network === 'solana')!.address;
    expect(signer.address).toBe(solana);
    const publicKey = base58.decode(solana);
    const message = new TextEncoder().encode('Sign in to Example');
    pins.length = 0;
    expect(ed25519.verify(await signer.signMessage(message), message, publicKey)).toBe(true);
    expect(pins[0]).toMatchObject({ kind: 'solana-message', summary: { message: { encoding: 'utf-8', text: 'Sign in to Example' }, offchain: undefined } });
    // A transfer passed as a message: refused before the PIN is asked.
    await expect(signer.signMessage(fiveSolToAttacker(solana))).rejects.toMatchObject({ code: 'MESSAGE_IS_TRANSACTION' });
    expect(pins).toHaveLength(1);
    // An off-chain message (\xffsolana offchain, v1): @solana/kit decodes what was signed and verifies the signature.
    const offchain = await signer.signOffchainMessage('Log in to Example at 12:00');
    expect(getOffchainMessageDecoder().decode(offchain.signedMessage)).toMatchObject({ version: 1, content: 'Log in to Example at 12:00' });
    await expect(
      verifyOffchainMessageEnvelope({ content: offchain.signedMessage as never, signatures: { [solana]: offchain.signature } as never }),
    ).resolves.toBeUndefined();
    expect(pins[1]).toMatchObject({
      kind: 'solana-message',
      summary: { message: { text: 'Log in to Example at 12:00' }, offchain: { version: 1, signers: [solana] } },
    });
    // A v0-free legacy transfer built with @solana/kit.
    const txMessage = pipe(
      createTransactionMessage({ version: 'legacy' }),
      (m) => setTransactionMessageFeePayer(kitAddress(solana), m),
      (m) =>
        setTransactionMessageLifetimeUsingBlockhash(
          { blockhash: getBase58Decoder().decode(new Uint8Array(32).fill(7)) as Blockhash, lastValidBlockHeight: 100n },
          m,
        ),
      (m) =>
        appendTransactionMessageInstruction(
          { programAddress: kitAddress('11111111111111111111111111111111'), accounts: [], data: Uint8Array.of(2, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0) },
          m,
        ),
    );
    const compiled = compileTransaction(txMessage);
    const messageBytes = new Uint8Array(compiled.messageBytes);
    const [dict] = await signer.signTransactions([{ messageBytes }]);
    expect(signer.address).toBe(solana);
    expect(ed25519.verify(dict![signer.address]!, messageBytes, publicKey)).toBe(true);
    // The same as a wire transaction with a zero signature slot.
    const wire = new Uint8Array([1, ...new Uint8Array(64), ...messageBytes]);
    pins.length = 0;
    const signed = await signer.signTransaction(wire);
    expect(ed25519.verify(signed.subarray(1, 65), messageBytes, publicKey)).toBe(true);
    expect(pins[0]).toMatchObject({
      kind: 'solana-transaction',
      summary: { feePayer: solana, programs: [{ name: 'System Program' }], transfers: [], instructions: 1 },
    });
    expect(Buffer.from(signed.subarray(65)).equals(Buffer.from(messageBytes))).toBe(true);
  });
});

describe('clients that must not send a PIN', () => {
  const recording = (): { fetch: typeof fetch; posts: string[] } => {
    const posts: string[] = [];
    return {
      posts,
      fetch: async (input, init) => {
        if (init?.method === 'POST') posts.push(String(input));
        return fetch(input, init);
      },
    };
  };

  test('pinned to other PCRs: PCR_MISMATCH, and no envelope is sent', async () => {
    const rec = recording();
    const pinned = createClient({ baseUrl: stack.url, root: readDevRoot(stack.caDir), expectedPcrs: { 0: '00'.repeat(47) + '01' }, fetch: rec.fetch });
    pinned.setSession(client.session);
    const err = await pinned.createWallet(PIN).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AttestationError);
    expect((err as AttestationError).code).toBe('PCR_MISMATCH');
    expect(rec.posts).toEqual([]);
  });

  test('pinned to the AWS root: the simulated enclave is UNTRUSTED_ROOT, and no envelope is sent; without PCR0 the client refuses to exist', async () => {
    const rec = recording();
    const aws = createClient({ baseUrl: stack.url, root: 'aws', expectedPcrs: { 0: '11'.repeat(48) }, fetch: rec.fetch });
    aws.setSession(client.session);
    const err = (await aws.signEvmMessage(wallet.walletId, 'x', { pin: PIN }).catch((e: unknown) => e)) as AttestationError;
    expect(err).toBeInstanceOf(AttestationError);
    expect(err.code).toBe('UNTRUSTED_ROOT');
    expect(rec.posts).toEqual([]);
    expect(() => createClient({ baseUrl: stack.url, root: 'aws' })).toThrow(/PCR0/);
  });

  test('the KDF parameters come from the attested document, not from the host: a host that rewrites them is not believed', async () => {
    const claimed = { algorithm: 'pbkdf2', memoryKiB: 1, iterations: 1, parallelism: 1 };
    const lying: typeof fetch = async (input, init) => {
      const res = await fetch(input, init);
      if (!String(input).includes('/v1/enclave/attestation')) return res;
      const body = (await res.json()) as Record<string, unknown>;
      return new Response(JSON.stringify({ ...body, kdf: claimed }), { status: res.status, headers: { 'content-type': 'application/json' } });
    };
    const attested = await createClient({ baseUrl: stack.url, root: readDevRoot(stack.caDir), fetch: lying }).attestation();
    expect(attested.kdf).toEqual({ algorithm: 'argon2id', memoryKiB: 19456, iterations: 2, parallelism: 1 });
    expect(JSON.parse(Buffer.from(attested.document.userData!).toString('utf8'))).toEqual({ v: 1, kdf: attested.kdf });
  });

  test("root 'dev' in Node reads the local stack's dev root under the working directory", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sdk-dev-'));
    mkdirSync(join(dir, '.data/dev-ca'), { recursive: true });
    copyFileSync(join(stack.caDir, 'root.der'), join(dir, '.data/dev-ca/root.der'));
    const cwd = process.cwd();
    process.chdir(dir);
    try {
      const dev = createClient({ baseUrl: stack.url, root: 'dev' });
      const attestation = await dev.attestation();
      expect(attestation.publicKey).toHaveLength(32);
      expect(attestation.mode).toBe('simulated');
      // Reused while fresh.
      expect(await dev.attestation()).toBe(attestation);
      // Elsewhere, the error says where it looked and what to do instead.
      process.chdir(mkdtempSync(join(tmpdir(), 'sdk-nodev-')));
      const elsewhere = createClient({ baseUrl: stack.url, root: 'dev' }).attestation();
      await expect(elsewhere).rejects.toThrow(TypeError);
      await expect(elsewhere).rejects.toThrow(
        /dev-ca\/root\.der, which cannot be read: run from the repository where npm start ran, or pin the root by the sha256/,
      );
    } finally {
      process.chdir(cwd);
    }
  });
});
