/**
 * A transaction signed through the API is accepted by a real EVM node:
 * anvil (npm @foundry-rs/anvil-linux-amd64) mines it, and the chain's sender
 * is the wallet's address. Legacy, EIP-2930 and EIP-1559 all go through.
 */
import { randomBytes } from 'node:crypto';
import { createPublicClient, http, keccak256, parseEther, serializeTransaction, type TransactionSerializable } from 'viem';
import { foundry } from 'viem/chains';
import { sealPinEnvelope, verifyAttestationDocument, type EnvelopeBody } from '@enclave-wallet/client';
import { readDevRoot } from '../../devtools/src/nsm/index.js';
import { startAnvil, type Anvil } from '../support/anvil.js';
import { startStack, type Stack } from '../support/stack.js';

let anvil: Anvil;
let rpc: string;
let stack: Stack;

beforeAll(async () => {
  anvil = await startAnvil();
  rpc = anvil.rpc;
  stack = await startStack();
}, 60_000);
afterAll(async () => {
  await stack.close();
  anvil.stop();
});

async function call<T>(method: string, path: string, body?: unknown, token?: string): Promise<T> {
  const res = await fetch(stack.url + path, {
    method,
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  const json = (await res.json()) as T & { error?: { code: string } };
  if (!res.ok) throw new Error(`${path}: ${res.status} ${json.error?.code}`);
  return json;
}

async function envelope(body: EnvelopeBody): Promise<string> {
  const nonce = randomBytes(32);
  const att = await call<{ document: string }>('GET', `/v1/enclave/attestation?nonce=${nonce.toString('hex')}`);
  const key = verifyAttestationDocument(Buffer.from(att.document, 'base64'), { root: readDevRoot(stack.caDir), expectedNonce: nonce }).publicKey!;
  return sealPinEnvelope(key, body);
}

test('legacy, EIP-2930 and EIP-1559 transactions signed by the enclave are mined by anvil', async () => {
  const { accessToken, user } = await call<{ accessToken: string; user: { id: string } }>('POST', '/v1/auth/login', {
    idToken: await stack.issuer.sign({ email: 'chain@example.com' }),
  });
  const wallet = await call<{ walletId: string; accounts: Array<{ network: string; address: `0x${string}` }> }>(
    'POST',
    '/v1/wallets',
    { pinEnvelope: await envelope({ purpose: 'create-wallet', sub: user.id, pin: '493817' }) },
    accessToken,
  );
  const address = wallet.accounts.find((a) => a.network === 'evm')!.address;
  const chain = createPublicClient({ chain: foundry, transport: http(rpc) });
  await chain.request({ method: 'anvil_setBalance' as never, params: [address, '0xde0b6b3a7640000'] as never });
  const gasPrice = await chain.getGasPrice();
  for (const type of ['legacy', 'eip2930', 'eip1559'] as const) {
    const nonce = await chain.getTransactionCount({ address });
    const base = { chainId: 31337, to: '0x70997970C51812dc3A010C7d01b50e0d17dc79C8' as const, value: parseEther('0.001'), nonce, gas: 30000n };
    const tx: TransactionSerializable =
      type === 'eip1559'
        ? { ...base, type, maxFeePerGas: gasPrice * 2n, maxPriorityFeePerGas: 1n }
        : type === 'eip2930'
          ? { ...base, type, gasPrice: gasPrice * 2n, accessList: [] }
          : { ...base, type, gasPrice: gasPrice * 2n };
    const apiTx = {
      type,
      to: base.to,
      value: base.value.toString(),
      nonce: String(nonce),
      gas: '30000',
      ...(type === 'eip1559' ? { maxFeePerGas: (gasPrice * 2n).toString(), maxPriorityFeePerGas: '1' } : { gasPrice: (gasPrice * 2n).toString() }),
      ...(type === 'eip2930' ? { accessList: [] } : {}),
    };
    const out = await call<{ signedTransaction: `0x${string}` }>(
      'POST',
      `/v1/wallets/${wallet.walletId}/sign`,
      {
        network: 'evm',
        kind: 'transaction',
        chainId: 31337,
        transaction: apiTx,
        pinEnvelope: await envelope({
          purpose: 'sign',
          sub: user.id,
          walletId: wallet.walletId,
          network: 'evm',
          kind: 'evm-transaction',
          address,
          digest: keccak256(serializeTransaction(tx)),
          pin: '493817',
        }),
      },
      accessToken,
    );
    const hash = await chain.sendRawTransaction({ serializedTransaction: out.signedTransaction });
    const receipt = await chain.waitForTransactionReceipt({ hash });
    expect({ type, status: receipt.status, from: receipt.from }).toEqual({ type, status: 'success', from: address.toLowerCase() });
  }
}, 60_000);
