/**
 * Chain access against real nodes: anvil (a real EVM node) and LiteSVM (the
 * real Solana VM) behind the local JSON-RPC endpoint of devtools. Every
 * answer of the API is checked with independent code (viem, @solana/kit):
 * balances equal the node's, `prepare`'s digest is keccak256 of its
 * transaction serialised by viem, a sent transaction is mined from the
 * wallet's address, and node refusals come back as typed codes.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { getCreateAccountInstruction, getTransferSolInstruction } from '@solana-program/system';
import { getInitializeAccount3Instruction, getInitializeMint2Instruction, getMintToInstruction } from '@solana-program/token';
import {
  address as solAddress,
  appendTransactionMessageInstructions,
  createSolanaRpc,
  createTransactionMessage,
  generateKeyPairSigner,
  getBase58Decoder,
  getBase64EncodedWireTransaction,
  getCompiledTransactionMessageDecoder,
  getTransactionDecoder,
  lamports,
  pipe,
  setTransactionMessageFeePayerSigner,
  setTransactionMessageLifetimeUsingBlockhash,
  signTransactionMessageWithSigners,
} from '@solana/kit';
import {
  createPublicClient,
  createWalletClient,
  encodeFunctionData,
  getAddress,
  http,
  keccak256,
  parseEther,
  serializeTransaction,
  type Address,
  type Hex,
  type TransactionSerializable,
} from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { foundry } from 'viem/chains';
import { verifyAttestationDocument } from '@enclave-wallet/client';
import { LocalSolana, TOKEN_PROGRAM } from '@enclave-wallet/devtools';
import { parseChains, type PreparedEvmTransaction } from '@enclave-wallet/host';
import { readDevRoot } from '../../devtools/src/nsm/index.js';
import { startAnvil, type Anvil } from '../support/anvil.js';
import { startFaultProxy, type FaultProxy } from '../support/fault-proxy.js';
import { sealEnvelope } from '../support/envelopes.js';
import { startStack, type Stack } from '../support/stack.js';

const token = JSON.parse(readFileSync(fileURLToPath(new URL('../fixtures/erc20/TestToken.json', import.meta.url)), 'utf8')) as {
  abi: unknown[];
  bytecode: Hex;
};
// anvil's first dev account (its published test key): deploys the token and funds the wallet.
const deployer = privateKeyToAccount('0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80');
const RECIPIENT = '0x70997970C51812dc3A010C7d01b50e0d17dc79C8' as const;
const PIN = '493817';

let anvil: Anvil;
/** A chain without a base fee (anvil on the Berlin hardfork), chain 31338: legacy gas prices. */
let berlin: Anvil;
/** Between the host and anvil: passes everything, until a test makes it fail. */
let evmProxy: FaultProxy;
let solana: LocalSolana;
let solanaUrl: string;
let stack: Stack;
let tokenAddress: Address;
let mint: Awaited<ReturnType<typeof generateKeyPairSigner>>;
let session: { accessToken: string; userId: string };
let wallet: { walletId: string; evm: Address; solana: string };
const chain = () => createPublicClient({ chain: foundry, transport: http(anvil.rpc) });

async function api<T = Record<string, unknown>>(
  method: string,
  path: string,
  body?: unknown,
): Promise<{ status: number; body: T & { error?: { code: string; message: string; reason?: string; hash?: string } } }> {
  const res = await fetch(stack.url + path, {
    method,
    headers: { 'content-type': 'application/json', authorization: `Bearer ${session.accessToken}` },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as never };
}

/** A 2xx answer's body; anything else fails with the answer in the message. */
function ok<T>(res: { status: number; body: T }): T {
  if (res.status < 200 || res.status > 299) throw new Error(`expected 2xx, got ${res.status} ${JSON.stringify(res.body)}`);
  return res.body;
}

async function envelope(body: Record<string, string>): Promise<string> {
  const nonce = randomBytes(16);
  const att = (await (await fetch(`${stack.url}/v1/enclave/attestation?nonce=${nonce.toString('hex')}`)).json()) as { document: string };
  const key = verifyAttestationDocument(Buffer.from(att.document, 'base64'), { root: readDevRoot(stack.caDir), expectedNonce: nonce }).publicKey!;
  return Buffer.from(sealEnvelope(key, { sub: session.userId, pin: PIN, ...body } as never)).toString('base64');
}

/** A prepared EVM transaction as the API answers it. */
type Tx = PreparedEvmTransaction;

/** keccak256 of the transaction serialised by viem: what the client binds its envelope to. */
function digestOf(t: Tx, chainId = 31337): Hex {
  const base = { chainId, to: t.to as Address, value: BigInt(t.value), nonce: Number(t.nonce), gas: BigInt(t.gas), data: t.data as Hex };
  const viemTx: TransactionSerializable =
    t.type === 'legacy'
      ? { ...base, type: 'legacy', gasPrice: BigInt(t.gasPrice!) }
      : { ...base, type: 'eip1559', maxFeePerGas: BigInt(t.maxFeePerGas!), maxPriorityFeePerGas: BigInt(t.maxPriorityFeePerGas!) };
  return keccak256(serializeTransaction(viemTx));
}

/** The sign-and-send body for a prepared EVM transaction, its digest checked here first as a client must. */
async function evmSendBody(prepared: { transaction: Tx; digest: Hex }) {
  const t = prepared.transaction;
  const digest = digestOf(t);
  expect(prepared.digest).toBe(digest);
  return {
    network: 'evm',
    kind: 'transaction',
    chainId: 31337,
    transaction: t,
    pinEnvelope: await envelope({ purpose: 'sign', walletId: wallet.walletId, network: 'evm', kind: 'evm-transaction', address: wallet.evm, digest }),
  };
}

async function prepareEvm(over: Record<string, unknown> = {}) {
  return api<{ transaction: Tx; digest: Hex }>('POST', `/v1/wallets/${wallet.walletId}/transactions/prepare`, {
    network: 'evm',
    chainId: 31337,
    to: RECIPIENT,
    value: parseEther('0.01').toString(),
    ...over,
  });
}

async function solanaSend(transaction: string, digest: string) {
  return api<{ hash: string; signedTransaction: string }>('POST', `/v1/wallets/${wallet.walletId}/transactions/send`, {
    network: 'solana',
    cluster: 'localnet',
    kind: 'transaction',
    transaction,
    pinEnvelope: await envelope({
      purpose: 'sign',
      walletId: wallet.walletId,
      network: 'solana',
      kind: 'solana-transaction',
      cluster: 'localnet',
      address: wallet.solana,
      digest,
    }),
  });
}

beforeAll(async () => {
  anvil = await startAnvil();
  const deployerClient = createWalletClient({ account: deployer, chain: foundry, transport: http(anvil.rpc) });
  const deployHash = await deployerClient.deployContract({ abi: token.abi, bytecode: token.bytecode, args: ['Test Token', 'TT', 6, 1_000_000_000_000n] });
  tokenAddress = getAddress((await chain().waitForTransactionReceipt({ hash: deployHash })).contractAddress!);
  evmProxy = await startFaultProxy(anvil.rpc);
  berlin = await startAnvil({ chainId: 31338, hardfork: 'berlin' });
  solana = new LocalSolana();
  solanaUrl = (await solana.listen(0)).url;
  mint = await generateKeyPairSigner();
  stack = await startStack({
    chains: parseChains(
      JSON.stringify([
        {
          network: 'evm',
          chainId: 31337,
          name: 'Anvil',
          rpcUrl: evmProxy.url,
          nativeSymbol: 'ETH',
          tokens: [{ address: tokenAddress, symbol: 'TT', decimals: 6 }],
        },
        { network: 'evm', chainId: 31338, name: 'Berlin', rpcUrl: berlin.rpc, nativeSymbol: 'ETH' },
        // A mistake an operator can make: chain 5's entry pointing at a node of chain 31337.
        { network: 'evm', chainId: 5, name: 'Mislabelled', rpcUrl: anvil.rpc, nativeSymbol: 'ETH' },
        {
          network: 'solana',
          cluster: 'localnet',
          name: 'LiteSVM',
          rpcUrl: solanaUrl,
          nativeSymbol: 'SOL',
          tokens: [{ address: mint.address, symbol: 'TSPL', decimals: 2 }],
        },
      ]),
    ),
  });
  const login = (await (
    await fetch(`${stack.url}/v1/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ idToken: await stack.issuer.sign({ email: 'chains@example.com' }) }),
    })
  ).json()) as { accessToken: string; user: { id: string } };
  session = { accessToken: login.accessToken, userId: login.user.id };
  const created = await api<{ walletId: string; accounts: Array<{ network: string; address: string }> }>('POST', '/v1/wallets', {
    pinEnvelope: await envelope({ purpose: 'create-wallet' }),
  });
  expect(created.status).toBe(201);
  wallet = {
    walletId: created.body.walletId,
    evm: created.body.accounts.find((a) => a.network === 'evm')!.address as Address,
    solana: created.body.accounts.find((a) => a.network === 'solana')!.address,
  };
}, 120_000);

afterAll(async () => {
  await stack?.close();
  await solana?.close();
  await evmProxy?.close();
  anvil?.stop();
  berlin?.stop();
});

test('GET /v1/chains lists the configured chains and their tokens, never an RPC URL', async () => {
  const res = await api<{ chains: Array<Record<string, unknown>> }>('GET', '/v1/chains');
  expect(res.status).toBe(200);
  expect(res.body.chains).toEqual([
    { network: 'evm', chainId: 31337, name: 'Anvil', nativeSymbol: 'ETH', tokens: [{ address: tokenAddress, symbol: 'TT', decimals: 6 }] },
    { network: 'evm', chainId: 31338, name: 'Berlin', nativeSymbol: 'ETH', tokens: [] },
    { network: 'evm', chainId: 5, name: 'Mislabelled', nativeSymbol: 'ETH', tokens: [] },
    { network: 'solana', cluster: 'localnet', name: 'LiteSVM', nativeSymbol: 'SOL', tokens: [{ address: mint.address, symbol: 'TSPL', decimals: 2 }] },
  ]);
  // The OpenAPI document lists every chain route.
  const spec = (await (await fetch(`${stack.url}/openapi.json`)).json()) as { paths: Record<string, unknown> };
  for (const path of [
    '/v1/chains',
    '/v1/wallets/{walletId}/balances',
    '/v1/wallets/{walletId}/transactions/prepare',
    '/v1/wallets/{walletId}/transactions/send',
  ])
    expect(spec.paths).toHaveProperty([path]);
  expect(JSON.stringify(res.body)).not.toContain('127.0.0.1');
});

test('EVM balances equal the node’s: native after funding, and an ERC-20 deployed by the test', async () => {
  const before = await api<{ balances: Array<Record<string, unknown>> }>('GET', `/v1/wallets/${wallet.walletId}/balances?network=evm&chainId=31337`);
  expect(before.status).toBe(200);
  expect(before.body.balances).toEqual([
    { address: wallet.evm, asset: 'native', symbol: 'ETH', decimals: 18, amount: '0' },
    { address: wallet.evm, asset: tokenAddress, symbol: 'TT', decimals: 6, amount: '0' },
  ]);
  const deployerClient = createWalletClient({ account: deployer, chain: foundry, transport: http(anvil.rpc) });
  await chain().waitForTransactionReceipt({ hash: await deployerClient.sendTransaction({ to: wallet.evm, value: parseEther('2') }) });
  await chain().waitForTransactionReceipt({
    hash: await deployerClient.writeContract({ address: tokenAddress, abi: token.abi, functionName: 'transfer', args: [wallet.evm, 123_456_789n] }),
  });
  const after = await api<{ balances: Array<{ asset: string; amount: string }> }>('GET', `/v1/wallets/${wallet.walletId}/balances?network=evm&chainId=31337`);
  const nodeNative = await chain().getBalance({ address: wallet.evm });
  const nodeToken = (await chain().readContract({ address: tokenAddress, abi: token.abi, functionName: 'balanceOf', args: [wallet.evm] })) as bigint;
  expect(after.body.balances.map((b) => [b.asset, b.amount])).toEqual([
    ['native', nodeNative.toString()],
    [tokenAddress, nodeToken.toString()],
  ]);
  expect(nodeNative).toBe(parseEther('2'));
  expect(nodeToken).toBe(123_456_789n);
}, 60_000);

test('prepare: nonce, gas with a margin, EIP-1559 fees, and the digest viem computes; send: mined from the wallet', async () => {
  const prepared = await prepareEvm();
  ok(prepared);
  const t = prepared.body.transaction;
  expect(t.type).toBe('eip1559');
  expect(t.nonce).toBe(String(await chain().getTransactionCount({ address: wallet.evm, blockTag: 'pending' })));
  expect(BigInt(t.gas!)).toBe((21000n * 120n + 99n) / 100n);
  const block = await chain().getBlock();
  expect(BigInt(t.maxFeePerGas!)).toBeGreaterThan(block.baseFeePerGas!);
  const sent = await api<{ hash: Hex; signedTransaction: Hex }>('POST', `/v1/wallets/${wallet.walletId}/transactions/send`, await evmSendBody(prepared.body));
  ok(sent);
  expect(sent.body.hash).toBe(keccak256(sent.body.signedTransaction));
  const receipt = await chain().waitForTransactionReceipt({ hash: sent.body.hash });
  expect({ status: receipt.status, from: receipt.from, to: receipt.to }).toEqual({
    status: 'success',
    from: wallet.evm.toLowerCase(),
    to: RECIPIENT.toLowerCase(),
  });
}, 60_000);

test('an ERC-20 transfer prepared with calldata is mined and moves the tokens', async () => {
  const data = encodeFunctionData({ abi: token.abi, functionName: 'transfer', args: [RECIPIENT, 1_000n] });
  const prepared = await prepareEvm({ to: tokenAddress, value: '0', data });
  ok(prepared);
  const sent = await api<{ hash: Hex }>('POST', `/v1/wallets/${wallet.walletId}/transactions/send`, await evmSendBody(prepared.body));
  expect((await chain().waitForTransactionReceipt({ hash: sent.body.hash })).status).toBe('success');
  expect(await chain().readContract({ address: tokenAddress, abi: token.abi, functionName: 'balanceOf', args: [RECIPIENT] })).toBe(1_000n);
}, 60_000);

test('a chain without a base fee gets a legacy gas price from the node, and the legacy transaction is mined', async () => {
  const node = createPublicClient({ transport: http(berlin.rpc) });
  await node.request({ method: 'anvil_setBalance' as never, params: [wallet.evm, '0xde0b6b3a7640000'] as never });
  const prepared = ok(
    await api<{ transaction: Tx; digest: Hex }>('POST', `/v1/wallets/${wallet.walletId}/transactions/prepare`, {
      network: 'evm',
      chainId: 31338,
      to: RECIPIENT,
      value: '7',
    }),
  );
  expect(prepared.transaction.type).toBe('legacy');
  expect(prepared.transaction.maxFeePerGas).toBeUndefined();
  expect(BigInt(prepared.transaction.gasPrice!)).toBe(await node.getGasPrice());
  const t = prepared.transaction;
  expect(t.value).toBe('7');
  const digest = digestOf(t, 31338);

  expect(prepared.digest).toBe(digest);
  const sent = ok(
    await api<{ hash: Hex }>('POST', `/v1/wallets/${wallet.walletId}/transactions/send`, {
      network: 'evm',
      kind: 'transaction',
      chainId: 31338,
      transaction: t,
      pinEnvelope: await envelope({ purpose: 'sign', walletId: wallet.walletId, network: 'evm', kind: 'evm-transaction', address: wallet.evm, digest }),
    }),
  );
  const receipt = await node.waitForTransactionReceipt({ hash: sent.hash });
  expect({ status: receipt.status, from: receipt.from, type: receipt.type }).toEqual({ status: 'success', from: wallet.evm.toLowerCase(), type: 'legacy' });
}, 60_000);

test('an EVM entry whose node serves another chain is refused (502 CHAIN_ERROR) before any read or send', async () => {
  const read = await api('GET', `/v1/wallets/${wallet.walletId}/balances?network=evm&chainId=5`);
  expect(read.status).toBe(502);
  expect(read.body.error).toMatchObject({ code: 'CHAIN_ERROR', message: 'the node configured for chain 5 serves chain 31337' });
  const prepare = await api('POST', `/v1/wallets/${wallet.walletId}/transactions/prepare`, { network: 'evm', chainId: 5, to: RECIPIENT, value: '1' });
  expect(prepare.body.error?.code).toBe('CHAIN_ERROR');
});

test('a reverting call is a 422 TRANSACTION_REVERTED with the contract’s reason, not a 500', async () => {
  const data = encodeFunctionData({ abi: token.abi, functionName: 'transfer', args: [RECIPIENT, 10n ** 30n] });
  const res = await prepareEvm({ to: tokenAddress, value: '0', data });
  expect(res.status).toBe(422);
  expect(res.body.error).toMatchObject({ code: 'TRANSACTION_REVERTED', reason: 'TestToken: insufficient balance' });
});

test('a nonce used already is 409 NONCE_TOO_LOW, and preparing again sends', async () => {
  const first = await prepareEvm({ value: '1' });
  const stale = await evmSendBody(first.body);
  ok(await api('POST', `/v1/wallets/${wallet.walletId}/transactions/send`, stale));
  // The same nonce again, with other contents (so not the same transaction).
  const replay = { ...first.body, transaction: { ...first.body.transaction, value: '2' } };
  const t = replay.transaction;
  const digest = digestOf(t);
  await chain().request({ method: 'evm_mine' as never });
  const res = await api('POST', `/v1/wallets/${wallet.walletId}/transactions/send`, await evmSendBody({ transaction: t, digest }));
  expect(res.status).toBe(409);
  expect(res.body.error?.code).toBe('NONCE_TOO_LOW');
  const again = await prepareEvm({ value: '2' });
  expect(Number(again.body.transaction.nonce)).toBe(Number(t.nonce) + 1);
  expect((await api('POST', `/v1/wallets/${wallet.walletId}/transactions/send`, await evmSendBody(again.body))).status).toBe(200);
}, 60_000);

test('a nonce gap: a transaction sent ahead waits in the pool, prepare fills the gap, and both are mined', async () => {
  const next = await prepareEvm({ value: '3' });
  const n = Number(next.body.transaction.nonce);
  // Sent with the nonce after the next one: the node queues it.
  const ahead = { ...next.body.transaction, nonce: String(n + 1), value: '4' };
  const t = ahead;
  const digest = digestOf(t);
  const queued = await api<{ hash: Hex }>('POST', `/v1/wallets/${wallet.walletId}/transactions/send`, await evmSendBody({ transaction: ahead, digest }));
  ok(queued);
  await chain().request({ method: 'evm_mine' as never });
  expect(
    await chain()
      .getTransactionReceipt({ hash: queued.body.hash })
      .catch(() => null),
  ).toBeNull();
  // prepare takes the pending count, which a gapped transaction does not raise: it fills the gap.
  const fill = await prepareEvm({ value: '3' });
  expect(Number(fill.body.transaction.nonce)).toBe(n);
  const filled = await api<{ hash: Hex }>('POST', `/v1/wallets/${wallet.walletId}/transactions/send`, await evmSendBody(fill.body));
  expect((await chain().waitForTransactionReceipt({ hash: filled.body.hash })).status).toBe('success');
  expect((await chain().waitForTransactionReceipt({ hash: queued.body.hash })).status).toBe('success');
}, 60_000);

test('a fee change: after the base fee rises past the prepared cap the node refuses with FEE_TOO_LOW, and a new prepare goes through', async () => {
  const prepared = await prepareEvm({ value: '5' });
  const cap = BigInt(prepared.body.transaction.maxFeePerGas!);
  await chain().request({ method: 'anvil_setNextBlockBaseFeePerGas' as never, params: [`0x${(cap * 4n).toString(16)}`] as never });
  await chain().request({ method: 'evm_mine' as never });
  const res = await api('POST', `/v1/wallets/${wallet.walletId}/transactions/send`, await evmSendBody(prepared.body));
  expect(res.status).toBe(422);
  expect(res.body.error?.code).toBe('FEE_TOO_LOW');
  const again = await prepareEvm({ value: '5' });
  expect(BigInt(again.body.transaction.maxFeePerGas!)).toBeGreaterThan(cap);
  const sent = await api<{ hash: Hex }>('POST', `/v1/wallets/${wallet.walletId}/transactions/send`, await evmSendBody(again.body));
  ok(sent);
  expect((await chain().waitForTransactionReceipt({ hash: sent.body.hash })).status).toBe('success');
}, 60_000);

test('a send whose answer is lost is 503 CHAIN_UNAVAILABLE with the hash: the node got it once, nothing was retried, and it is mined', async () => {
  const prepared = ok(await prepareEvm({ value: '6' }));
  const body = await evmSendBody(prepared);
  evmProxy.seen.length = 0;
  const sends: string[] = [];
  evmProxy.rule = (_target, text) => {
    if (!text.includes('eth_sendRawTransaction')) return undefined;
    sends.push(text);
    return 'lost-answer';
  };
  try {
    const res = await api('POST', `/v1/wallets/${wallet.walletId}/transactions/send`, body);
    expect(res.status).toBe(503);
    expect(res.body.error?.code).toBe('CHAIN_UNAVAILABLE');
    expect(res.body.error?.hash).toMatch(/^0x[0-9a-f]{64}$/);
    expect(sends).toHaveLength(1);
    const receipt = await chain().waitForTransactionReceipt({ hash: res.body.error!.hash as Hex });
    expect({ status: receipt.status, from: receipt.from }).toEqual({ status: 'success', from: wallet.evm.toLowerCase() });
  } finally {
    evmProxy.rule = undefined;
  }
}, 60_000);

test('more than the wallet holds is 422 INSUFFICIENT_FUNDS from the node', async () => {
  const balance = await chain().getBalance({ address: wallet.evm });
  const prepared = await prepareEvm({ value: '1' });
  const t = { ...prepared.body.transaction, value: (balance * 10n).toString() };
  const digest = digestOf(t);
  const res = await api('POST', `/v1/wallets/${wallet.walletId}/transactions/send`, await evmSendBody({ transaction: t, digest }));
  expect(res.status).toBe(422);
  expect(res.body.error?.code).toBe('INSUFFICIENT_FUNDS');
}, 60_000);

test('an unconfigured chain is 400 CHAIN_UNSUPPORTED, before anything is signed', async () => {
  expect((await api('GET', `/v1/wallets/${wallet.walletId}/balances?network=evm&chainId=1`)).body.error?.code).toBe('CHAIN_UNSUPPORTED');
  const res = await api('POST', `/v1/wallets/${wallet.walletId}/transactions/send`, {
    network: 'evm',
    kind: 'transaction',
    chainId: 1,
    transaction: { type: 'eip1559', to: RECIPIENT, value: '1', nonce: '0', gas: '21000', maxFeePerGas: '1', maxPriorityFeePerGas: '1' },
    pinEnvelope: 'AAAA',
  });
  expect(res.status).toBe(400);
  expect(res.body.error?.code).toBe('CHAIN_UNSUPPORTED');
});

test('Solana: SOL and SPL balances equal the node’s, and a transfer prepared by the API is executed by the SVM', async () => {
  const rpc = createSolanaRpc(solanaUrl);
  const owner = solAddress(wallet.solana);
  // Fund the wallet, and give it SPL tokens of a mint created here (a token account owned by the wallet).
  await rpc.requestAirdrop(owner, lamports(3_000_000_000n)).send();
  const payer = await generateKeyPairSigner();
  await rpc.requestAirdrop(payer.address, lamports(10_000_000_000n)).send();
  const tokenAccount = await generateKeyPairSigner();
  const { value: blockhash } = await rpc.getLatestBlockhash().send();
  const rentMint = await rpc.getMinimumBalanceForRentExemption(82n).send();
  const rentAccount = await rpc.getMinimumBalanceForRentExemption(165n).send();
  const setup = await pipe(
    createTransactionMessage({ version: 0 }),
    (m) => setTransactionMessageFeePayerSigner(payer, m),
    (m) => setTransactionMessageLifetimeUsingBlockhash(blockhash, m),
    (m) =>
      appendTransactionMessageInstructions(
        [
          getCreateAccountInstruction({ payer, newAccount: mint, lamports: rentMint, space: 82, programAddress: solAddress(TOKEN_PROGRAM) }),
          getInitializeMint2Instruction({ mint: mint.address, decimals: 2, mintAuthority: payer.address }),
          getCreateAccountInstruction({ payer, newAccount: tokenAccount, lamports: rentAccount, space: 165, programAddress: solAddress(TOKEN_PROGRAM) }),
          getInitializeAccount3Instruction({ account: tokenAccount.address, mint: mint.address, owner }),
          getMintToInstruction({ mint: mint.address, token: tokenAccount.address, mintAuthority: payer, amount: 4_200n }),
        ],
        m,
      ),
    (m) => signTransactionMessageWithSigners(m),
  );
  await rpc.sendTransaction(getBase64EncodedWireTransaction(setup), { encoding: 'base64' }).send();
  const balances = async () =>
    (
      await api<{ balances: Array<{ asset: string; amount: string; symbol: string; decimals: number }> }>(
        'GET',
        `/v1/wallets/${wallet.walletId}/balances?network=solana&cluster=localnet`,
      )
    ).body.balances;
  const before = await balances();
  expect(before).toEqual([
    { address: wallet.solana, asset: 'native', symbol: 'SOL', decimals: 9, amount: String((await rpc.getBalance(owner).send()).value) },
    { address: wallet.solana, asset: mint.address, symbol: 'TSPL', decimals: 2, amount: '4200' },
  ]);
  expect(before[0]!.amount).toBe('3000000000');

  // A transfer the API prepares: a System Program transfer from the wallet, checked with kit's decoders.
  const to = (await generateKeyPairSigner()).address;
  const prepared = await api<{ transaction: string; digest: string }>('POST', `/v1/wallets/${wallet.walletId}/transactions/prepare`, {
    network: 'solana',
    cluster: 'localnet',
    to,
    value: '1000000000',
  });
  ok(prepared);
  const decoded = getTransactionDecoder().decode(Buffer.from(prepared.body.transaction, 'base64'));
  const message = getCompiledTransactionMessageDecoder().decode(decoded.messageBytes);
  expect(message.staticAccounts).toEqual([owner, to, solAddress('11111111111111111111111111111111')]);
  expect(prepared.body.digest).toBe('0x' + Buffer.from(await crypto.subtle.digest('SHA-256', new Uint8Array(decoded.messageBytes))).toString('hex'));
  const sent = await solanaSend(prepared.body.transaction, prepared.body.digest);
  ok(sent);
  expect((await rpc.getSignatureStatuses([sent.body.hash as never]).send()).value[0]?.err).toBeNull();
  expect((await rpc.getBalance(to).send()).value).toBe(1_000_000_000n);
  const after = await balances();
  // The SVM charged the transfer and a 5000-lamport fee.
  expect(BigInt(after[0]!.amount)).toBe(3_000_000_000n - 1_000_000_000n - 5_000n);

  // More than it holds: the SVM refuses, and the API says why.
  const tooMuch = await api<{ transaction: string; digest: string }>('POST', `/v1/wallets/${wallet.walletId}/transactions/prepare`, {
    network: 'solana',
    cluster: 'localnet',
    to,
    value: '50000000000',
  });
  const refused = await solanaSend(tooMuch.body.transaction, tooMuch.body.digest);
  expect(refused.status).toBe(422);
  expect(refused.body.error).toMatchObject({ code: 'INSUFFICIENT_FUNDS' });
  expect(refused.body.error?.reason).toMatch(/insufficient lamports/);
}, 60_000);

test('the local Solana node moves on as a validator does: the same airdrop or transfer twice lands twice; an earlier blockhash still serves, an unknown one is BlockhashNotFound, a replay AlreadyProcessed, by name', async () => {
  const rpc = createSolanaRpc(solanaUrl);
  const payer = await generateKeyPairSigner();
  const to = await generateKeyPairSigner();
  const slot0 = await rpc.getSlot().send();
  await rpc.requestAirdrop(payer.address, lamports(2_000_000_000n)).send();
  await rpc.requestAirdrop(payer.address, lamports(2_000_000_000n)).send(); // once "airdrop failed: 6"
  expect((await rpc.getBalance(payer.address).send()).value).toBe(lamports(4_000_000_000n));
  expect(await rpc.getSlot().send()).toBe(slot0 + 2n);
  const transfer = async (blockhash: { blockhash: string; lastValidBlockHeight: bigint }) =>
    getBase64EncodedWireTransaction(
      await pipe(
        createTransactionMessage({ version: 0 }),
        (m) => setTransactionMessageFeePayerSigner(payer, m),
        (m) => setTransactionMessageLifetimeUsingBlockhash(blockhash as Parameters<typeof setTransactionMessageLifetimeUsingBlockhash>[0], m),
        (m) => appendTransactionMessageInstructions([getTransferSolInstruction({ source: payer, destination: to.address, amount: 1_000_000_000n })], m),
        (m) => signTransactionMessageWithSigners(m),
      ),
    );
  const first = (await rpc.getLatestBlockhash().send()).value;
  const once = await transfer(first);
  await rpc.sendTransaction(once, { encoding: 'base64' }).send();
  // The same transfer made again: a new blockhash, so a transaction of its own.
  const second = (await rpc.getLatestBlockhash().send()).value;
  expect(second.blockhash).not.toBe(first.blockhash);
  await rpc.sendTransaction(await transfer(second), { encoding: 'base64' }).send();
  expect((await rpc.getBalance(to.address).send()).value).toBe(lamports(2_000_000_000n));
  // The first blockhash is still among the recent ones; a made-up one is not.
  expect((await rpc.isBlockhashValid(first.blockhash, {}).send()).value).toBe(true);
  const made = { blockhash: getBase58Decoder().decode(randomBytes(32)), lastValidBlockHeight: first.lastValidBlockHeight };
  expect((await rpc.isBlockhashValid(made.blockhash as never, {}).send()).value).toBe(false);
  await expect(rpc.sendTransaction(await transfer(made), { encoding: 'base64' }).send()).rejects.toMatchObject({
    context: { __code: -32002 },
  });
  const refusal = async (wire: string) =>
    (await (
      await fetch(solanaUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'sendTransaction', params: [wire, { encoding: 'base64' }] }),
      })
    ).json()) as { error: { message: string; data: { err: string } } };
  expect((await refusal(await transfer(made))).error).toMatchObject({
    message: 'Transaction simulation failed: Blockhash not found',
    data: { err: 'BlockhashNotFound' },
  });
  // The very same transaction again is refused as a validator words it.
  expect((await refusal(once)).error.data.err).toBe('AlreadyProcessed');
});

test('a node that is down is 503 CHAIN_UNAVAILABLE, and no answer or log line names its URL', async () => {
  await solana.close();
  const down = await api('GET', `/v1/wallets/${wallet.walletId}/balances?network=solana&cluster=localnet`);
  expect(down.status).toBe(503);
  expect(down.body.error?.code).toBe('CHAIN_UNAVAILABLE');
  expect(JSON.stringify(down.body)).not.toContain(solanaUrl);
  const logs = stack.logLines.join('\n');
  expect(logs).not.toContain(solanaUrl);
  expect(logs).not.toContain(evmProxy.url);
});
