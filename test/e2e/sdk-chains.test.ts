/**
 * The SDK's chain calls against real nodes (anvil, LiteSVM): chains and
 * balances, an EVM and a Solana send that the nodes execute, and a hostile
 * host whose prepared transaction differs from what the app asked for
 * (recipient, value, data; another cluster's blockhash with the send going to
 * that cluster; fees, gas and nonce of its choosing): the SDK refuses it,
 * reading the app's own nodes (`rpc`), and sends nothing, so no PIN is bound
 * to it. Issue 25 items 1 and 2.
 */
import { randomBytes } from 'node:crypto';
import { base58 } from '@scure/base';
import { createPublicClient, http, parseEther, parseGwei, toHex, type Address } from 'viem';
import { foundry } from 'viem/chains';
import { address as solAddress, createSolanaRpc, lamports } from '@solana/kit';
import {
  createClient,
  describeApprovalSummary,
  EnclaveWalletApiError,
  type EnclaveWallet,
  type EvmTransactionSummary,
  type PinRequest,
  type SolanaTransactionSummary,
  type Wallet,
} from '@enclave-wallet/client';
import { LocalSolana } from '@enclave-wallet/devtools';
import { parseChains } from '@enclave-wallet/host';
import { readDevRoot } from '../../devtools/src/nsm/index.js';
import { startAnvil, type Anvil } from '../support/anvil.js';
import { startStack, type Stack } from '../support/stack.js';

const PIN = '493817';
const RECIPIENT = '0x70997970C51812dc3A010C7d01b50e0d17dc79C8' as const;
let anvil: Anvil;
/** The cluster the app sends on ("devnet") and another one the host also reaches ("mainnet-beta"), each a LiteSVM node. */
let solana: LocalSolana;
let solanaUrl: string;
let mainnet: LocalSolana;
let mainnetUrl: string;
let stack: Stack;
let client: EnclaveWallet;
let wallet: Wallet;
let evm: Address;
let sol: string;
/** What the app sent to the host, by path; and a way to play a hostile host that rewrites prepare answers. */
const requests: string[] = [];
let rewritePrepare: ((body: Record<string, unknown>) => Record<string, unknown>) | undefined;
/** A hostile host rewriting what the app asked of it (e.g. the cluster of a prepare and of a send). */
let rewriteRequest: ((path: string, body: Record<string, unknown>) => Record<string, unknown>) | undefined;

/** A getPin that counts its calls (none, when the SDK refuses before asking). */
const pinSpy = (): (() => string) & { calls: number } => {
  const f = Object.assign(() => (f.calls++, PIN), { calls: 0 });
  return f;
};

const hostileFetch: typeof fetch = async (input, init) => {
  const url = String(input);
  requests.push(new URL(url).pathname);
  if (rewriteRequest && typeof init?.body === 'string' && url.startsWith(stack.url))
    init = { ...init, body: JSON.stringify(rewriteRequest(new URL(url).pathname, JSON.parse(init.body) as Record<string, unknown>)) };
  const res = await fetch(input, init);
  if (!rewritePrepare || !url.includes('/transactions/prepare') || !res.ok) return res;
  const body = rewritePrepare((await res.json()) as Record<string, unknown>);
  return new Response(JSON.stringify(body), { status: res.status, headers: { 'content-type': 'application/json' } });
};

beforeAll(async () => {
  anvil = await startAnvil();
  solana = new LocalSolana();
  solanaUrl = (await solana.listen(0)).url;
  mainnet = new LocalSolana();
  mainnetUrl = (await mainnet.listen(0)).url;
  stack = await startStack({
    chains: parseChains(
      JSON.stringify([
        { network: 'evm', chainId: 31337, name: 'Anvil', rpcUrl: anvil.rpc, nativeSymbol: 'ETH' },
        { network: 'solana', cluster: 'devnet', name: 'LiteSVM devnet', rpcUrl: solanaUrl, nativeSymbol: 'SOL' },
        { network: 'solana', cluster: 'mainnet-beta', name: 'LiteSVM mainnet', rpcUrl: mainnetUrl, nativeSymbol: 'SOL' },
      ]),
    ),
  });
  // The app's own nodes: what the SDK checks the host's prepared transactions against.
  client = createClient({
    baseUrl: stack.url,
    root: readDevRoot(stack.caDir),
    fetch: hostileFetch,
    rpc: { evm: { 31337: anvil.rpc }, solana: { devnet: solanaUrl } },
  });
  await client.login(await stack.issuer.sign({ email: 'sdk-chains@example.com' }));
  wallet = await client.createWallet(PIN);
  evm = wallet.accounts.find((a) => a.network === 'evm')!.address as Address;
  sol = wallet.accounts.find((a) => a.network === 'solana')!.address;
  const node = createPublicClient({ chain: foundry, transport: http(anvil.rpc) });
  await node.request({ method: 'anvil_setBalance' as never, params: [evm, '0xde0b6b3a7640000'] as never });
  await createSolanaRpc(solanaUrl).requestAirdrop(solAddress(sol), lamports(3_000_000_000n)).send();
  await createSolanaRpc(mainnetUrl).requestAirdrop(solAddress(sol), lamports(3_000_000_000n)).send();
}, 60_000);

afterAll(async () => {
  await stack?.close();
  await solana?.close();
  await mainnet?.close();
  anvil?.stop();
});

test('listChains and getBalances: what the host reaches, and balances equal to the nodes’', async () => {
  expect((await client.listChains()).map((c) => [c.network, c.chainId ?? c.cluster])).toEqual([
    ['evm', 31337],
    ['solana', 'devnet'],
    ['solana', 'mainnet-beta'],
  ]);
  const node = createPublicClient({ chain: foundry, transport: http(anvil.rpc) });
  expect(await client.getBalances(wallet.walletId, { network: 'evm', chainId: 31337 })).toEqual([
    { address: evm, asset: 'native', symbol: 'ETH', decimals: 18, amount: (await node.getBalance({ address: evm })).toString() },
  ]);
  expect(await client.getBalances(wallet.walletId, { network: 'solana', cluster: 'devnet' })).toEqual([
    { address: sol, asset: 'native', symbol: 'SOL', decimals: 9, amount: '3000000000' },
  ]);
});

test('sendEvmTransaction: prepared by the host, checked and hashed by the SDK, mined from the wallet; the PIN prompt shows the maximum total fee', async () => {
  const node = createPublicClient({ chain: foundry, transport: http(anvil.rpc) });
  const before = await node.getBalance({ address: RECIPIENT });
  const asked: PinRequest[] = [];
  const getPin = (r: PinRequest): string => (asked.push(r), PIN);
  const out = await client.sendEvmTransaction(wallet.walletId, { chainId: 31337, to: RECIPIENT, value: parseEther('0.25') }, { getPin });
  const receipt = await node.waitForTransactionReceipt({ hash: out.hash });
  expect({ status: receipt.status, from: receipt.from }).toEqual({ status: 'success', from: evm.toLowerCase() });
  expect((await node.getBalance({ address: RECIPIENT })) - before).toBe(parseEther('0.25'));
  const summary = asked[0]!.summary as EvmTransactionSummary;
  const total = BigInt(out.transaction.gas) * BigInt(out.transaction.maxFeePerGas!);
  expect(summary.maxTotalFee).toEqual({ wei: total.toString(), symbol: 'ETH', formatted: expect.stringMatching(/^0\.\d+ ETH$/) as unknown as string });
  expect(describeApprovalSummary(summary)).toContainEqual({ label: 'Max fee', value: summary.maxTotalFee.formatted });
});

test('sendSolanaTransfer: the SVM executes it and the balances move; the PIN prompt names the cluster the SDK checked', async () => {
  const to = base58.encode(randomBytes(32));
  const asked: PinRequest[] = [];
  const getPin = (r: PinRequest): string => (asked.push(r), PIN);
  // What the SDK seals (the PIN left out): the envelope names the cluster the SDK checked.
  const sealed: Array<Record<string, unknown>> = [];
  const inner = client as unknown as { seal(body: Record<string, unknown>, factor: unknown): Promise<string> };
  const seal = inner.seal.bind(client);
  inner.seal = (body, factor) => (sealed.push({ ...body }), seal(body, factor));
  const blockhash = solana.latestBlockhash; // the node's latest when the host prepares (a new one once it lands)
  const out = await client
    .sendSolanaTransfer(wallet.walletId, { cluster: 'devnet', to, lamports: 1_000_000_000n }, { getPin })
    .finally(() => delete (inner as { seal?: unknown }).seal);
  expect(sealed).toEqual([expect.objectContaining({ purpose: 'sign', network: 'solana', kind: 'solana-transaction', cluster: 'devnet' })]);
  expect(out.signature).toMatch(/^[1-9A-HJ-NP-Za-km-z]{64,88}$/);
  const summary = asked[0]!.summary as SolanaTransactionSummary;
  expect({ cluster: summary.cluster, recentBlockhash: summary.recentBlockhash }).toEqual({ cluster: 'devnet', recentBlockhash: blockhash });
  expect(solana.latestBlockhash).not.toBe(blockhash);
  expect(describeApprovalSummary(summary)).toContainEqual({ label: 'Cluster', value: 'devnet' });
  const rpc = createSolanaRpc(solanaUrl);
  expect((await rpc.getBalance(solAddress(to)).send()).value).toBe(1_000_000_000n);
  expect((await client.getBalances(wallet.walletId, { network: 'solana', cluster: 'devnet' }))[0]!.amount).toBe(
    String(3_000_000_000n - 1_000_000_000n - 5_000n),
  );
});

describe('a hostile host that prepares something else', () => {
  afterEach(() => {
    rewritePrepare = undefined;
    rewriteRequest = undefined;
  });
  const refused = async (send: () => Promise<unknown>): Promise<EnclaveWalletApiError> => {
    requests.length = 0;
    const err = (await send().catch((e: unknown) => e)) as EnclaveWalletApiError;
    expect(requests.some((p) => p.endsWith('/transactions/send') || p.endsWith('/sign'))).toBe(false);
    expect(requests.some((p) => p.endsWith('/transactions/prepare'))).toBe(true);
    return err;
  };

  test.each([
    ['recipient', (t: Record<string, unknown>) => ({ ...t, to: '0x000000000000000000000000000000000000dEaD' })],
    ['value', (t: Record<string, unknown>) => ({ ...t, value: parseEther('0.9').toString() })],
    ['data', (t: Record<string, unknown>) => ({ ...t, data: '0xa9059cbb' })],
  ])('an EVM transaction with another %s is refused before any PIN is sealed', async (_what, change) => {
    rewritePrepare = (body) => ({ ...body, transaction: change(body.transaction as Record<string, unknown>) });
    const err = await refused(() => client.sendEvmTransaction(wallet.walletId, { chainId: 31337, to: RECIPIENT, value: 1n }, { pin: PIN }));
    expect(err).toBeInstanceOf(EnclaveWalletApiError);
    expect(err.code).toBe('PREPARED_TRANSACTION_MISMATCH');
  });

  test('a fee above the app’s cap is refused', async () => {
    const err = await refused(() => client.sendEvmTransaction(wallet.walletId, { chainId: 31337, to: RECIPIENT, value: 1n }, { pin: PIN, maxFeePerGas: 1n }));
    expect(err.code).toBe('FEE_ABOVE_CAP');
  });

  // Issue 25 item 2: without a cap the host set any fee; with one, any gas limit and nonce.
  test.each([
    [
      'a fee of 40 000 gwei, no cap passed',
      {},
      { maxFeePerGas: parseGwei('40000').toString(), maxPriorityFeePerGas: parseGwei('40000').toString() },
      'FEE_ABOVE_CAP',
    ],
    ['a priority fee above the fee', {}, { maxPriorityFeePerGas: parseGwei('100').toString() }, 'FEE_ABOVE_CAP'],
    ['a gas limit of 30 000 000, with a cap', { maxFeePerGas: parseGwei('1000') }, { gas: '30000000' }, 'GAS_OUT_OF_RANGE'],
    ['a gas limit of 100 000 for a plain transfer', {}, { gas: '100000' }, 'GAS_OUT_OF_RANGE'],
    ['a gas limit below 21 000', {}, { gas: '20000' }, 'GAS_OUT_OF_RANGE'],
    ['a nonce of 1000, with a cap', { maxFeePerGas: parseGwei('1000') }, { nonce: '1000' }, 'NONCE_OUT_OF_RANGE'],
  ])('%s is refused before any PIN is asked', async (_what, limits, change, code) => {
    rewritePrepare = (body) => ({ ...body, transaction: { ...(body.transaction as Record<string, unknown>), ...change } });
    const getPin = pinSpy();
    const err = await refused(() =>
      client.sendEvmTransaction(wallet.walletId, { chainId: 31337, to: RECIPIENT, value: parseEther('0.001') }, { getPin, ...limits }),
    );
    expect({ code: err.code, status: err.status }).toEqual({ code, status: 0 });
    expect(getPin.calls).toBe(0);
  });

  test('a call’s gas limit is held to the app’s node’s estimate + 25 %, and an app’s `maxGas` lowers the ceiling', async () => {
    // A call to an account with code: the bound is the estimate, not 21 000.
    const node = createPublicClient({ chain: foundry, transport: http(anvil.rpc) });
    const contract = '0x00000000000000000000000000000000000c0de5' as Address;
    await node.request({ method: 'anvil_setCode' as never, params: [contract, '0x600160015500'] as never });
    const estimate = await node.estimateGas({ account: evm, to: contract, value: 1n });
    rewritePrepare = (body) => ({ ...body, transaction: { ...(body.transaction as Record<string, unknown>), gas: String((estimate * 126n) / 100n) } });
    expect((await refused(() => client.sendEvmTransaction(wallet.walletId, { chainId: 31337, to: contract, value: 1n }, { pin: PIN }))).code).toBe(
      'GAS_OUT_OF_RANGE',
    );
    rewritePrepare = undefined;
    // The host's own answer (its estimate + 20 %) is within the bound: the call is sent and mined.
    const sent = await client.sendEvmTransaction(wallet.walletId, { chainId: 31337, to: contract, value: 1n }, { pin: PIN });
    expect(BigInt(sent.transaction.gas)).toBeGreaterThan(21_000n);
    expect((await node.waitForTransactionReceipt({ hash: sent.hash })).status).toBe('success');
    expect(
      (await refused(() => client.sendEvmTransaction(wallet.walletId, { chainId: 31337, to: RECIPIENT, value: 1n }, { pin: PIN, maxGas: 21_000n - 1n }))).code,
    ).toBe('GAS_OUT_OF_RANGE');
  });

  // Issue 25 item 1: a devnet transfer prepared with mainnet-beta's blockhash and sent to mainnet-beta.
  test('a transfer asked for on devnet, prepared and sent by the host on mainnet-beta, is refused: the app’s devnet node does not know its blockhash', async () => {
    const to = base58.encode(randomBytes(32));
    rewriteRequest = (path, body) =>
      path.endsWith('/transactions/prepare') || path.endsWith('/transactions/send') ? { ...body, cluster: 'mainnet-beta' } : body;
    const getPin = pinSpy();
    const err = await refused(() => client.sendSolanaTransfer(wallet.walletId, { cluster: 'devnet', to, lamports: 2_000_000_000n }, { getPin }));
    expect({ code: err.code, status: err.status }).toEqual({ code: 'BLOCKHASH_NOT_ON_CLUSTER', status: 0 });
    expect(getPin.calls).toBe(0);
    for (const url of [mainnetUrl, solanaUrl]) expect((await createSolanaRpc(url).getBalance(solAddress(to)).send()).value).toBe(0n);
  });

  test('an app’s own Solana transaction signed for a cluster is checked the same way', async () => {
    const prepared = await client.prepareTransaction<{ transaction: string }>(wallet.walletId, {
      network: 'solana',
      cluster: 'mainnet-beta',
      address: sol,
      to: base58.encode(randomBytes(32)),
      value: '1000',
    });
    const wire = Buffer.from(prepared.transaction, 'base64');
    const getPin = pinSpy();
    await expect(client.signSolanaTransaction(wallet.walletId, wire, { getPin, cluster: 'devnet' })).rejects.toMatchObject({
      code: 'BLOCKHASH_NOT_ON_CLUSTER',
    });
    await expect(client.signSolanaTransaction(wallet.walletId, wire, { getPin, cluster: 'mainnet-beta' })).rejects.toMatchObject({
      code: 'RPC_NOT_CONFIGURED',
    });
    expect(getPin.calls).toBe(0);
  });

  test('a Solana transfer to another account or of another amount is refused', async () => {
    const to = base58.encode(randomBytes(32));
    const other = base58.decode(base58.encode(randomBytes(32)));
    for (const tamper of [
      (wire: Buffer) => other.forEach((b, i) => (wire[1 + 64 + 4 + 32 + i] = b)), // the recipient key
      (wire: Buffer) => wire.writeBigUInt64LE(999n, wire.length - 8), // the lamports
    ]) {
      rewritePrepare = (body) => {
        const wire = Buffer.from(body.transaction as string, 'base64');
        tamper(wire);
        return { ...body, transaction: wire.toString('base64') };
      };
      const err = await refused(() => client.sendSolanaTransfer(wallet.walletId, { cluster: 'devnet', to, lamports: 5_000_000n }, { pin: PIN }));
      expect(err.code).toBe('PREPARED_TRANSACTION_MISMATCH');
    }
  });
});

test('without a node of the app’s for the chain, a send is refused (RPC_NOT_CONFIGURED) before the host is asked anything', async () => {
  const bare = createClient({ baseUrl: stack.url, root: readDevRoot(stack.caDir), fetch: hostileFetch, rpc: { solana: { 'mainnet-beta': mainnetUrl } } });
  bare.setSession(client.session);
  requests.length = 0;
  const to = base58.encode(randomBytes(32));
  for (const send of [
    () => bare.sendEvmTransaction(wallet.walletId, { chainId: 31337, to: RECIPIENT, value: 1n }, { pin: PIN, address: evm }),
    () => bare.sendSolanaTransfer(wallet.walletId, { cluster: 'devnet', to, lamports: 1n }, { pin: PIN, address: sol }),
  ]) {
    const err = (await send().catch((e: unknown) => e)) as EnclaveWalletApiError;
    expect({ code: err.code, status: err.status }).toEqual({ code: 'RPC_NOT_CONFIGURED', status: 0 });
    expect(err.message).not.toContain('http');
  }
  expect(requests).toEqual([]);
});

describe('the EIP-1193 provider holds a dapp’s nonce, gas and fees to the same bounds', () => {
  test.each([
    ['a fee of 40 000 gwei', { maxFeePerGas: toHex(parseGwei('40000')), maxPriorityFeePerGas: toHex(parseGwei('40000')) }, 'FEE_ABOVE_CAP'],
    ['a gas price of 40 000 gwei', { gasPrice: toHex(parseGwei('40000')) }, 'FEE_ABOVE_CAP'],
    ['a gas limit of 30 000 000', { gas: toHex(30_000_000) }, 'GAS_OUT_OF_RANGE'],
    ['a nonce of 1000', { nonce: toHex(1000) }, 'NONCE_OUT_OF_RANGE'],
  ])('eth_sendTransaction with %s is refused before any PIN is asked', async (_what, change, code) => {
    const getPin = pinSpy();
    const provider = client.toEip1193Provider(wallet.walletId, { getPin, rpcUrl: anvil.rpc, chainId: 31337, address: evm });
    const node = createPublicClient({ chain: foundry, transport: http(anvil.rpc) });
    const nonce = await node.getTransactionCount({ address: evm, blockTag: 'pending' });
    const err = (await provider
      .request({ method: 'eth_sendTransaction', params: [{ from: evm, to: RECIPIENT, value: toHex(parseEther('0.001')), ...change }] })
      .catch((e: unknown) => e)) as { code: number; data: { code: string } };
    expect({ code: err.code, data: err.data }).toEqual({ code: -32003, data: { code } });
    expect(getPin.calls).toBe(0);
    expect(await node.getTransactionCount({ address: evm, blockTag: 'pending' })).toBe(nonce);
  });

  test('eth_sendTransaction within the bounds is signed and mined, and the prompt shows the maximum total fee', async () => {
    const asked: PinRequest[] = [];
    const provider = client.toEip1193Provider(wallet.walletId, { getPin: (r) => (asked.push(r), PIN), rpcUrl: anvil.rpc, chainId: 31337, address: evm });
    const hash = (await provider.request({ method: 'eth_sendTransaction', params: [{ from: evm, to: RECIPIENT, value: toHex(1000n) }] })) as `0x${string}`;
    const node = createPublicClient({ chain: foundry, transport: http(anvil.rpc) });
    expect((await node.waitForTransactionReceipt({ hash })).status).toBe('success');
    const summary = asked[0]!.summary as EvmTransactionSummary;
    expect(summary.maxTotalFee.wei).toBe((BigInt(summary.gas) * BigInt(summary.maxFeePerGas)).toString());
  });
});

test('a node refusal reaches the app typed, with the node’s reason', async () => {
  const err = (await client
    .sendEvmTransaction(wallet.walletId, { chainId: 31337, to: RECIPIENT, value: parseEther('1000') }, { pin: PIN })
    .catch((e: unknown) => e)) as EnclaveWalletApiError;
  expect(err).toBeInstanceOf(EnclaveWalletApiError);
  // anvil refuses to estimate gas for a transfer the account cannot pay: the host's prepare says so.
  expect(err.code).toBe('INSUFFICIENT_FUNDS');
  expect(err.reason).toMatch(/insufficient funds/i);
});
