/**
 * The SDK's chain calls against real nodes (anvil, LiteSVM): chains and
 * balances, an EVM and a Solana send that the nodes execute, and a hostile
 * host whose prepared transaction differs from what the app asked for:
 * the SDK refuses it and sends nothing, so no PIN is bound to it.
 */
import { randomBytes } from 'node:crypto';
import { base58 } from '@scure/base';
import { createPublicClient, http, parseEther, type Address } from 'viem';
import { foundry } from 'viem/chains';
import { address as solAddress, createSolanaRpc, lamports } from '@solana/kit';
import { createClient, EnclaveWalletApiError, type EnclaveWallet, type Wallet } from '@enclave-wallet/client';
import { LocalSolana } from '@enclave-wallet/devtools';
import { parseChains } from '@enclave-wallet/host';
import { readDevRoot } from '../../devtools/src/nsm/index.js';
import { startAnvil, type Anvil } from '../support/anvil.js';
import { startStack, type Stack } from '../support/stack.js';

const PIN = '493817';
const RECIPIENT = '0x70997970C51812dc3A010C7d01b50e0d17dc79C8' as const;
let anvil: Anvil;
let solana: LocalSolana;
let solanaUrl: string;
let stack: Stack;
let client: EnclaveWallet;
let wallet: Wallet;
let evm: Address;
let sol: string;
/** What the app sent to the host, by path; and a way to play a hostile host that rewrites prepare answers. */
const requests: string[] = [];
let rewritePrepare: ((body: Record<string, unknown>) => Record<string, unknown>) | undefined;

const hostileFetch: typeof fetch = async (input, init) => {
  const url = String(input);
  requests.push(new URL(url).pathname);
  const res = await fetch(input, init);
  if (!rewritePrepare || !url.includes('/transactions/prepare') || !res.ok) return res;
  const body = rewritePrepare((await res.json()) as Record<string, unknown>);
  return new Response(JSON.stringify(body), { status: res.status, headers: { 'content-type': 'application/json' } });
};

beforeAll(async () => {
  anvil = await startAnvil();
  solana = new LocalSolana();
  solanaUrl = (await solana.listen(0)).url;
  stack = await startStack({
    chains: parseChains(
      JSON.stringify([
        { network: 'evm', chainId: 31337, name: 'Anvil', rpcUrl: anvil.rpc, nativeSymbol: 'ETH' },
        { network: 'solana', cluster: 'localnet', name: 'LiteSVM', rpcUrl: solanaUrl, nativeSymbol: 'SOL' },
      ]),
    ),
  });
  client = createClient({ baseUrl: stack.url, root: readDevRoot(stack.caDir), fetch: hostileFetch });
  await client.login(await stack.issuer.sign({ email: 'sdk-chains@example.com' }));
  wallet = await client.createWallet(PIN);
  evm = wallet.accounts.find((a) => a.network === 'evm')!.address as Address;
  sol = wallet.accounts.find((a) => a.network === 'solana')!.address;
  const node = createPublicClient({ chain: foundry, transport: http(anvil.rpc) });
  await node.request({ method: 'anvil_setBalance' as never, params: [evm, '0xde0b6b3a7640000'] as never });
  await createSolanaRpc(solanaUrl).requestAirdrop(solAddress(sol), lamports(3_000_000_000n)).send();
}, 60_000);

afterAll(async () => {
  await stack?.close();
  await solana?.close();
  anvil?.stop();
});

test('listChains and getBalances: what the host reaches, and balances equal to the nodes’', async () => {
  expect((await client.listChains()).map((c) => [c.network, c.chainId ?? c.cluster])).toEqual([
    ['evm', 31337],
    ['solana', 'localnet'],
  ]);
  const node = createPublicClient({ chain: foundry, transport: http(anvil.rpc) });
  expect(await client.getBalances(wallet.walletId, { network: 'evm', chainId: 31337 })).toEqual([
    { address: evm, asset: 'native', symbol: 'ETH', decimals: 18, amount: (await node.getBalance({ address: evm })).toString() },
  ]);
  expect(await client.getBalances(wallet.walletId, { network: 'solana', cluster: 'localnet' })).toEqual([
    { address: sol, asset: 'native', symbol: 'SOL', decimals: 9, amount: '3000000000' },
  ]);
});

test('sendEvmTransaction: prepared by the host, checked and hashed by the SDK, mined from the wallet', async () => {
  const node = createPublicClient({ chain: foundry, transport: http(anvil.rpc) });
  const before = await node.getBalance({ address: RECIPIENT });
  const out = await client.sendEvmTransaction(wallet.walletId, { chainId: 31337, to: RECIPIENT, value: parseEther('0.25') }, { pin: PIN });
  const receipt = await node.waitForTransactionReceipt({ hash: out.hash });
  expect({ status: receipt.status, from: receipt.from }).toEqual({ status: 'success', from: evm.toLowerCase() });
  expect((await node.getBalance({ address: RECIPIENT })) - before).toBe(parseEther('0.25'));
});

test('sendSolanaTransfer: the SVM executes it and the balances move', async () => {
  const to = base58.encode(randomBytes(32));
  const out = await client.sendSolanaTransfer(wallet.walletId, { cluster: 'localnet', to, lamports: 1_000_000_000n }, { pin: PIN });
  expect(out.signature).toMatch(/^[1-9A-HJ-NP-Za-km-z]{64,88}$/);
  const rpc = createSolanaRpc(solanaUrl);
  expect((await rpc.getBalance(solAddress(to)).send()).value).toBe(1_000_000_000n);
  expect((await client.getBalances(wallet.walletId, { network: 'solana', cluster: 'localnet' }))[0]!.amount).toBe(
    String(3_000_000_000n - 1_000_000_000n - 5_000n),
  );
});

describe('a hostile host that prepares something else', () => {
  afterEach(() => {
    rewritePrepare = undefined;
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
      const err = await refused(() => client.sendSolanaTransfer(wallet.walletId, { cluster: 'localnet', to, lamports: 5_000_000n }, { pin: PIN }));
      expect(err.code).toBe('PREPARED_TRANSACTION_MISMATCH');
    }
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
